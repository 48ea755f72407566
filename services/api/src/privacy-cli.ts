/**
 * `crm privacy …`: the DPO's command line. Every subcommand calls the HTTP API of a running
 * CRM (`--url`, default the configured port on 127.0.0.1), so it does exactly what the API
 * does, audited the same way. The token comes from CRM_TOKEN, else it is minted with the
 * development secret for the `dpo` role (like `crm token --role dpo`).
 */
import { createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '@crm/runtime';
import { withDevJwtSecret } from './dev-secret.ts';
import { mintDevToken } from './dev-token.ts';

export const PRIVACY_USAGE = `  privacy forget <subjectId> --reason <text>
        Erase a data subject (Art. 17): prints the request with its receipt, or why it was refused.
  privacy export <subjectId> [--out <file>]
        Everything held on the subject (Art. 15, 20), as JSON, to stdout or a file.
  privacy receipt <requestId>
        A request's receipt (or its state, and why it was refused).
  privacy requests [--overdue] [--all]
        Open requests by due date (--overdue: only those past their deadline; --all: closed ones too).
  privacy due
        What retention has falling due (GET /v1/privacy/retention/due).
  privacy hold <subjectId> --basis <legal basis> --until <YYYY-MM-DD> --reason <text>
        Place a legal hold (Art. 17(3)): erasure is refused until it ends or is released.
  privacy release <holdId> --reason <text>
        Release a legal hold.
        Every privacy subcommand takes --url <url>; the token is CRM_TOKEN, else a development
        token for the dpo role minted with the development secret.
`;

const OPTIONS = {
  url: { type: 'string' },
  reason: { type: 'string' },
  out: { type: 'string' },
  basis: { type: 'string' },
  until: { type: 'string' },
  overdue: { type: 'boolean' },
  all: { type: 'boolean' },
} as const;

interface Api {
  url: string;
  token: string;
}

async function connect(url: string | undefined): Promise<Api> {
  const loaded = loadConfig();
  const base = (url ?? `http://127.0.0.1:${loaded.port}`).replace(/\/+$/, '');
  const fromEnv = process.env.CRM_TOKEN;
  if (fromEnv) return { url: base, token: fromEnv };
  const { config } = withDevJwtSecret(loaded);
  if (!config.auth.jwtSecret) throw new ConfigError('Set CRM_TOKEN to a token with the dpo role (with CRM_JWKS_URL your identity provider issues tokens)');
  return { url: base, token: await mintDevToken(config.auth.jwtSecret, { subject: 'cli-dpo', roles: ['dpo'], ttlSeconds: 300 }) };
}

async function call(api: Api, method: string, path: string, body?: unknown): Promise<Response> {
  const response = await fetch(`${api.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${api.token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  if (!response.ok) {
    const problem = (await response.json().catch(() => ({}))) as { title?: string; detail?: string };
    throw new Error(`${method} ${path} answered ${response.status}${problem.title ? ` ${problem.title}` : ''}${problem.detail ? `: ${problem.detail}` : ''}`);
  }
  return response;
}

const print = (value: unknown) => process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);

function required(value: string | undefined, what: string): string {
  if (!value) throw new ConfigError(`crm privacy: ${what} is required\n\n${PRIVACY_USAGE}`);
  return value;
}

export async function privacyCommand(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: OPTIONS });
  const [sub, target] = positionals;
  const api = () => connect(values.url);
  switch (sub) {
    case 'forget': {
      const answer = await call(await api(), 'POST', '/v1/privacy/requests', {
        kind: 'erasure',
        subjectId: required(target, '<subjectId>'),
        reason: required(values.reason, '--reason'),
      });
      const request = (await answer.json()) as { state: string };
      print(request);
      if (request.state !== 'done') process.exitCode = 1;
      return;
    }
    case 'export': {
      const answer = await call(await api(), 'GET', `/v1/privacy/subjects/${required(target, '<subjectId>')}/export`);
      if (!answer.body) throw new Error('the export answered without a body');
      const body = Readable.fromWeb(answer.body as import('node:stream/web').ReadableStream<Uint8Array>);
      if (values.out) await pipeline(body, createWriteStream(values.out, { mode: 0o600 }));
      else await pipeline(body, process.stdout, { end: false });
      return;
    }
    case 'receipt': {
      const request = (await (await call(await api(), 'GET', `/v1/privacy/requests/${required(target, '<requestId>')}`)).json()) as Record<string, unknown>;
      const { requestId, kind, subjectId, state, dueBy, refusal, receipt } = request;
      print(receipt ?? { requestId, kind, subjectId, state, dueBy, ...(refusal ? { refusal } : {}) });
      return;
    }
    case 'requests': {
      const query = values.overdue ? '?overdue=true' : values.all ? '?state=all' : '';
      print(await (await call(await api(), 'GET', `/v1/privacy/requests${query}`)).json());
      return;
    }
    case 'due':
      print(await (await call(await api(), 'GET', '/v1/privacy/retention/due')).json());
      return;
    case 'hold':
      print(
        await (
          await call(await api(), 'POST', '/v1/privacy/holds', {
            subjectId: required(target, '<subjectId>'),
            legalBasis: required(values.basis, '--basis'),
            until: required(values.until, '--until'),
            reason: required(values.reason, '--reason'),
          })
        ).json(),
      );
      return;
    case 'release':
      print(await (await call(await api(), 'DELETE', `/v1/privacy/holds/${required(target, '<holdId>')}`, { reason: required(values.reason, '--reason') })).json());
      return;
    default:
      throw new ConfigError(`Usage: crm privacy <subcommand>\n\n${PRIVACY_USAGE}`);
  }
}
