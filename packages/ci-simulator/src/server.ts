import http from 'node:http';
import { getResponse, type HttpHandler } from 'msw';
import { GithubSimulator } from './handlers';

/**
 * Serves a simulator's msw handlers over HTTP, so the same handlers that unit
 * tests install answer the portal started with `yarn start`.
 */
export async function startSimulatorServer(options: {
  simulator: GithubSimulator;
  /** Further simulated providers served beside GitHub. */
  extra?: Array<{ handlers(): HttpHandler[] }>;
  /**
   * Endpoints that steer the simulation (e.g. a `SimulatorControl`),
   * tried before the providers'.
   */
  control?: { handlers(): HttpHandler[] };
  port: number;
  host?: string;
  log?: (line: string) => void;
}): Promise<{ url: string; close(): Promise<void> }> {
  const handlers = [
    ...(options.control?.handlers() ?? []),
    ...options.simulator.handlers(),
    ...(options.extra ?? []).flatMap(sim => sim.handlers()),
  ];
  const log = options.log ?? (() => {});
  const server = http.createServer(async (req, res) => {
    const started = Date.now();
    try {
      const origin = `http://${
        req.headers.host ?? `localhost:${options.port}`
      }`;
      const chunks: Buffer[] = [];
      for await (const chunk of req) {
        chunks.push(chunk as Buffer);
      }
      const headers = new Headers();
      for (const [key, value] of Object.entries(req.headers)) {
        if (value !== undefined) {
          headers.set(key, Array.isArray(value) ? value.join(', ') : value);
        }
      }
      const request = new Request(new URL(req.url ?? '/', origin), {
        method: req.method,
        headers,
        body: ['GET', 'HEAD'].includes(req.method ?? 'GET')
          ? undefined
          : Buffer.concat(chunks),
      });
      const response =
        (await getResponse(handlers, request)) ??
        new Response(JSON.stringify({ message: 'Not Found' }), {
          status: 404,
          headers: { 'content-type': 'application/json' },
        });
      res.statusCode = response.status;
      response.headers.forEach((value, key) => res.setHeader(key, value));
      res.end(Buffer.from(await response.arrayBuffer()));
      log(
        `${req.method} ${req.url} ${response.status} ${Date.now() - started}ms`,
      );
    } catch (error) {
      log(`${req.method} ${req.url} failed: ${error}`);
      res.statusCode = 500;
      res.end();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const port =
    typeof address === 'object' && address ? address.port : options.port;
  return {
    url: `http://localhost:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) =>
        server.close(err => (err ? reject(err) : resolve())),
      ),
  };
}
