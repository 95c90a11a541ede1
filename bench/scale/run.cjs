/* eslint-disable no-console */
/**
 * `yarn bench storage`, `yarn bench prune`, `yarn bench migrate` (issue 16
 * points 2 and 3): each runs alone, on this machine's PostgreSQL, and
 * rewrites only its own section (and summary rows) of docs/benchmarks.md
 * (or BENCH_OUT). `yarn bench scale` runs the three one after the other.
 * Exit code 0 when the benchmark ran (targets met or not), 1 when it could
 * not run.
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const c = require('./common.cjs');

const MODES = {
  storage: () => {
    const m = require('../storage/index.cjs');
    return { run: m.runStorageBench, report: m.storageReport };
  },
  prune: () => {
    const m = require('../prune/index.cjs');
    return { run: m.runPruneBench, report: m.pruneReport };
  },
  migrate: () => {
    const m = require('../migrate/index.cjs');
    return { run: m.runMigrateBench, report: m.migrateReport };
  },
  tests: () => {
    const m = require('../tests/index.cjs');
    return { run: m.runTestsBench, report: m.testsReport };
  },
};

async function runScaleMode(mode) {
  // `scale` is the three of issue 16; `tests` runs alone.
  const modes = mode === 'scale' ? ['storage', 'prune', 'migrate'] : [mode];
  let failed = false;
  const onSignal = () => c.dropDatabases().finally(() => process.exit(130));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  for (const key of modes) {
    const log = c.makeLog(key);
    const { run, report } = MODES[key]();
    let result;
    let error;
    try {
      result = await run({ log });
    } catch (e) {
      error = String(e?.message ?? e).split('\n')[0];
      log(`could not run: ${e?.stack ?? e}`);
      failed = true;
    } finally {
      await c.dropDatabases(log).catch(e => log(`drop: ${e.message}`));
    }
    const saved = path.join(os.tmpdir(), `ci-experience-bench-${key}.json`);
    if (result) fs.writeFileSync(saved, JSON.stringify(result, null, 2));
    const { rows, section } = report(result, error);
    const out = c.writeSection(key, rows, section);
    log(`wrote its section of ${out}${result ? `; results in ${saved}` : ''}`);
  }
  return failed ? 1 : 0;
}

/** `BENCH_REPORT_FROM=<results.json> yarn bench <mode>`: the section again. */
function reportScaleFrom(mode, file) {
  const { report } = MODES[mode]();
  const { rows, section } = report(JSON.parse(fs.readFileSync(file, 'utf8')));
  return c.writeSection(mode, rows, section);
}

module.exports = {
  SCALE_MODES: [...Object.keys(MODES), 'scale'],
  runScaleMode,
  reportScaleFrom,
};
