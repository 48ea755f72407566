/**
 * A small HTTP/1.1 client over a keep-alive agent (node:http), for workloads that issue
 * requests themselves (open loop at a fixed rate, or closed loop with checks on each
 * answer) instead of through autocannon. The answer is read in full as text; `endedAt`
 * is taken when its last byte arrived, before anything parses it.
 */
import http from 'node:http';

export interface HttpAnswer {
  status: number;
  body: string;
  /** performance.now() when the answer's last byte arrived. */
  endedAt: number;
}

export interface KeepAliveClient {
  request(method: 'GET' | 'POST', path: string, headers: Record<string, string>, body?: string): Promise<HttpAnswer>;
  /** Closes the idle sockets. */
  close(): void;
}

export function keepAliveClient(baseUrl: string, options: { maxSockets?: number; timeoutMs?: number } = {}): KeepAliveClient {
  const url = new URL(baseUrl);
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.maxSockets ?? 256 });
  const timeoutMs = options.timeoutMs ?? 30_000;
  return {
    request(method, path, headers, body) {
      return new Promise((resolve, reject) => {
        const req = http.request(
          {
            agent,
            host: url.hostname,
            port: url.port,
            method,
            path,
            headers: body === undefined ? headers : { ...headers, 'content-length': Buffer.byteLength(body) },
            timeout: timeoutMs,
          },
          (res) => {
            res.setEncoding('utf8');
            let text = '';
            res.on('data', (chunk: string) => (text += chunk));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text, endedAt: performance.now() }));
            res.on('error', reject);
          },
        );
        req.on('timeout', () => req.destroy(new Error(`${method} ${path.split('?')[0]} timed out after ${timeoutMs} ms`)));
        req.on('error', reject);
        req.end(body);
      });
    },
    close: () => agent.destroy(),
  };
}
