/* eslint-disable no-console */
/**
 * Helpers for bench/run.cjs: processes, HTTP, autocannon, PostgreSQL and
 * number formatting. Everything is bounded in count and time; every socket is
 * on the loopback interface.
 */
const { spawn } = require('node:child_process');
const net = require('node:net');
const fs = require('node:fs');
const autocannon = require('autocannon');

const sleep = ms => new Promise(resolve => setTimeout(resolve, ms));

/** Fails when something already listens on the port (another portal or bench). */
async function assertPortFree(port) {
  await new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', error =>
      reject(
        new Error(
          `port ${port} is in use (${error.code}); stop what listens there and run again`,
        ),
      ),
    );
    server.listen(port, '127.0.0.1', () => server.close(() => resolve()));
  });
}

/**
 * Polls `check` until it answers a truthy value, at most `timeoutMs`; throws
 * with `what` when time runs out. `check` errors count as "not yet".
 */
async function waitFor(what, check, { timeoutMs, intervalMs = 500, abort }) {
  const deadline = Date.now() + timeoutMs;
  let lastError;
  while (Date.now() < deadline) {
    if (abort?.()) {
      throw new Error(`${what}: ${abort()}`);
    }
    try {
      const value = await check();
      if (value) {
        return value;
      }
    } catch (error) {
      lastError = error;
    }
    await sleep(intervalMs);
  }
  throw new Error(
    `${what}: not within ${Math.round(timeoutMs / 1000)} s${
      lastError ? ` (last error: ${lastError.message})` : ''
    }`,
  );
}

async function getJson(url, token, timeoutMs = 10_000) {
  const res = await fetch(url, {
    headers: token ? { authorization: `Bearer ${token}` } : {},
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    body = text;
  }
  return { status: res.status, body };
}

/**
 * Starts a process in its own process group, output to a log file, and
 * returns a handle whose stop() ends that group (and only it).
 */
function startProcess(command, args, { cwd, env, logFile }) {
  const fd = fs.openSync(logFile, 'a');
  const child = spawn(command, args, {
    cwd,
    env,
    detached: true,
    stdio: ['ignore', fd, fd],
  });
  fs.closeSync(fd);
  let exited = null;
  child.on('exit', (code, signal) => {
    exited = { code, signal };
  });
  return {
    child,
    exited: () => exited,
    async stop() {
      if (exited) {
        return;
      }
      const signalGroup = signal => {
        try {
          process.kill(-child.pid, signal);
        } catch {
          // already gone
        }
      };
      signalGroup('SIGTERM');
      const deadline = Date.now() + 15_000;
      while (!exited && Date.now() < deadline) {
        await sleep(200);
      }
      if (!exited) {
        signalGroup('SIGKILL');
        await sleep(500);
      }
    },
  };
}

/** One autocannon run; answers the figures the report uses. */
async function cannon({ url, token, connections, durationSec, method, body }) {
  const result = await autocannon({
    url,
    connections,
    duration: durationSec,
    method: method ?? 'GET',
    headers: { authorization: `Bearer ${token}` },
    body,
    timeout: 10,
  });
  const total = result.requests.total;
  return {
    url,
    connections,
    durationSec,
    requests: total,
    rps: result.requests.average,
    p50: result.latency.p50,
    p90: result.latency.p90,
    p99: result.latency.p99,
    max: result.latency.max,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
  };
}

const fmt = (n, digits = 1) =>
  n === undefined || n === null || Number.isNaN(n)
    ? 'n/a'
    : Number.isFinite(n)
    ? Number(n).toLocaleString('en-US', {
        maximumFractionDigits: digits,
        minimumFractionDigits: 0,
      })
    : '∞';

function shuffle(items, rand = Math.random) {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}

module.exports = {
  sleep,
  assertPortFree,
  waitFor,
  getJson,
  startProcess,
  cannon,
  fmt,
  shuffle,
};
