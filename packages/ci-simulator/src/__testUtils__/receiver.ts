import http from 'node:http';
import { AddressInfo } from 'node:net';

/** One request a test receiver got: headers and the exact body. */
export interface ReceivedDelivery {
  path: string;
  headers: http.IncomingHttpHeaders;
  raw: string;
  body: any;
}

/**
 * A local webhook receiver for tests that keeps every delivery. It answers
 * 202, or (`answer`) 500, or never (`hang`, until closed).
 */
export async function startReceiver(
  answer: 'accept' | 'fail' | 'hang' = 'accept',
) {
  const received: ReceivedDelivery[] = [];
  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) {
      chunks.push(chunk as Buffer);
    }
    const raw = Buffer.concat(chunks).toString('utf8');
    received.push({
      path: req.url ?? '',
      headers: req.headers,
      raw,
      body: JSON.parse(raw),
    });
    if (answer === 'accept') {
      res.writeHead(202).end();
    } else if (answer === 'fail') {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end('{"message":"boom"}');
    }
  });
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    received,
    close: () =>
      new Promise<void>(resolve => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Waits until a condition holds, polling; fails after `timeoutMs`. */
export async function waitFor(
  condition: () => boolean,
  timeoutMs = 3000,
): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > until) {
      throw new Error('condition not met in time');
    }
    await new Promise(resolve => setTimeout(resolve, 10));
  }
}
