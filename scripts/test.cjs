#!/usr/bin/env node
/*
 * `yarn test`: Backstage's repo test runner, with the defaults this repo's
 * tests expect (CI mode: no watch; no Docker for test databases), and one
 * line, before and after, naming the suites that are skipped because
 * PostgreSQL or Redis is not configured, and how to run them.
 */
const { spawn } = require('node:child_process');

const env = {
  ...process.env,
  CI: process.env.CI ?? 'true',
  BACKSTAGE_TEST_DISABLE_DOCKER:
    process.env.BACKSTAGE_TEST_DISABLE_DOCKER ?? '1',
};

const postgres = Object.keys(env).some(
  k =>
    /^BACKSTAGE_TEST_DATABASE_POSTGRES\d+_CONNECTION_STRING$/.test(k) && env[k],
);
const redis = Boolean(env.BACKSTAGE_TEST_CACHE_REDIS7_CONNECTION_STRING);

const skipped = [];
if (!postgres) {
  skipped.push(
    'the PostgreSQL variants of the store, migration, claims, insights, alerts, secrets and masking suites (set BACKSTAGE_TEST_DATABASE_POSTGRES15_CONNECTION_STRING=postgresql://postgres@127.0.0.1:5432, the number being the server major version)',
  );
}
if (!redis || !postgres) {
  skipped.push(
    `the two-replica test and the Redis variant of the log cache (they need ${[
      !postgres && 'PostgreSQL',
      !redis &&
        'Redis: set BACKSTAGE_TEST_CACHE_REDIS7_CONNECTION_STRING=redis://127.0.0.1:6379',
    ]
      .filter(Boolean)
      .join(' and ')})`,
  );
}
/** One line: what is skipped and how to run it; nothing when nothing is. */
const say = () => {
  if (skipped.length > 0) {
    process.stdout.write(
      `yarn test: skipped ${skipped.join(
        '; and ',
      )}. .ci/run sets both for the machine's PostgreSQL and Redis.\n`,
    );
  }
};

say();
const child = spawn(
  process.execPath,
  [
    require.resolve('@backstage/cli/bin/backstage-cli'),
    'repo',
    'test',
    ...process.argv.slice(2),
  ],
  { stdio: 'inherit', env },
);
child.on('exit', (code, signal) => {
  say();
  process.exit(signal ? 1 : code ?? 1);
});
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => child.kill(signal));
}
