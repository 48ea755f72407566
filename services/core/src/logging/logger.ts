/**
 * The one logger. It writes JSON lines and accepts only flat fields of primitives, so
 * that nobody logs a whole command or document by accident. As a second line of
 * defence, fields named like personal data are dropped and strings that look like an
 * email address or a phone number are masked.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
export type LogFields = Record<string, string | number | boolean | undefined>;

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };
const PERSONAL_KEYS = new Set(['name', 'email', 'phone', 'address', 'dateofbirth', 'text', 'summary', 'jobtitle', 'salaryband', 'body', 'payload']);
const EMAIL = /[^\s@"']+@[^\s@"']+/g;
// Only international numbers (leading +): bare digit runs would mask ids and dates.
const PHONE = /\+\d[\d ()-]{6,}\d/g;

export function maskPersonalPatterns(value: string): string {
  return value.replace(EMAIL, '[email]').replace(PHONE, '[number]');
}

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

export function createLogger(options: { level?: LogLevel; write?: (line: string) => void; base?: LogFields } = {}): Logger {
  const threshold = ORDER[options.level ?? 'info'];
  const write = options.write ?? ((line: string) => process.stdout.write(line + '\n'));
  const base = options.base ?? {};
  const emit = (level: LogLevel, message: string, fields: LogFields = {}) => {
    if (ORDER[level] < threshold) return;
    const entry: Record<string, unknown> = { time: new Date().toISOString(), level, msg: maskPersonalPatterns(message) };
    for (const [key, value] of Object.entries({ ...base, ...fields })) {
      if (value === undefined) continue;
      if (PERSONAL_KEYS.has(key.toLowerCase())) entry[key] = '[redacted]';
      else entry[key] = typeof value === 'string' ? maskPersonalPatterns(value) : value;
    }
    write(JSON.stringify(entry));
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (fields) => createLogger({ ...options, base: { ...base, ...fields } }),
  };
}

export function parseLogLevel(value: string | undefined): LogLevel {
  const level = (value ?? 'info').toLowerCase();
  if (level in ORDER) return level as LogLevel;
  throw new Error('CRM_LOG_LEVEL must be one of debug, info, warn, error, silent');
}
