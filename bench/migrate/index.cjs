/* eslint-disable no-console */
/**
 * `yarn bench migrate` (issue 16 point 3: "large-table migrations do not
 * block writes on PostgreSQL ... measured at 1M runs").
 *
 * On a fresh database `bench_migrate_<ts>`: the plugin's migrations, then
 * BENCH_MIGRATE_SEED runs (5,000) stored through `KnexCiStore.upsertRuns`;
 * every migration from FIRST (20261202200000_latest_attempt.js) on is
 * undone (`down`), so the tables are at the schema before it; the runs and
 * jobs are copied in SQL to BENCH_MIGRATE_RUNS (1,000,000) runs; VACUUM
 * ANALYZE. Then BENCH_MIGRATE_WRITERS (2) writers insert runs with a job
 * and update stored runs continuously (plain SQL on the columns of that
 * schema, as a replica still on the older version writes), BENCH_MIGRATE_
 * BASELINE_S (10) seconds before the migrations, during them (each
 * `knex.migrate.up`, timed) and 5 s after; each write's latency is kept.
 * Reported: each migration's duration, the longest write (the longest
 * stall) and the longest gap between two completed writes during the
 * migrations, against the same before them.
 */
const c = require('../scale/common.cjs');

const FIRST = '20261202200000_latest_attempt.js';
const TARGET_MS = 1000;

function settings() {
  return {
    seed: c.num('BENCH_MIGRATE_SEED', 5_000),
    runs: c.num('BENCH_MIGRATE_RUNS', 1_000_000),
    sources: c.num('BENCH_MIGRATE_SOURCES', 1_000),
    writers: c.num('BENCH_MIGRATE_WRITERS', 2),
    baselineS: c.num('BENCH_MIGRATE_BASELINE_S', 10),
  };
}

async function pending(knex) {
  const [, todo] = await knex.migrate.list({ directory: c.MIGRATIONS });
  return todo.map(m => m.file);
}

async function runMigrateBench({ log = c.makeLog('migrate') } = {}) {
  const s = settings();
  const templates = c.templateRuns();
  const { knex, database } = await c.createDatabase('migrate', {
    min: 0,
    max: s.writers + 6,
  });
  try {
    log(`database ${database}: migrations`);
    const { KnexCiStore } = c.backend('database/KnexCiStore');
    const store = await KnexCiStore.fromKnex(knex);
    const env = await c.machine(knex);
    await c.storeRuns(store, templates, {
      count: s.seed,
      sources: s.sources,
      end: Date.now(),
      spanMs: 395 * 24 * 3600_000,
      log,
    });
    // Back to the schema before FIRST.
    const [done] = await knex.migrate.list({ directory: c.MIGRATIONS });
    const names = done.map(m => m.name).sort();
    const undone = names.filter(n => n >= FIRST).reverse();
    for (const name of undone) {
      await knex.migrate.down({ directory: c.MIGRATIONS, name });
    }
    const todo = await pending(knex);
    log(`undone ${undone.length} migrations: ${todo.join(', ')}`);
    const amp = await c.amplify(knex, { target: s.runs, log });
    await knex.raw('VACUUM ANALYZE');
    const runCols = await c.columnsOf(knex, 'ci_runs');
    const jobCols = await c.columnsOf(knex, 'ci_jobs');
    const count = Number((await knex('ci_runs').count('* as n'))[0].n);
    const jobs = Number((await knex('ci_jobs').count('* as n'))[0].n);
    const template = (await knex('ci_runs').select('id').first()).id;
    const sample = (
      await knex.raw('SELECT id FROM ci_runs TABLESAMPLE SYSTEM (1) LIMIT 5000')
    ).rows.map(r => r.id);
    log(
      `${c.f(count, 0)} runs, ${c.f(
        jobs,
        0,
      )} jobs at the schema before ${FIRST}`,
    );

    // The writers: a new run with a job, then an update of a stored run.
    const writes = [];
    let stop = false;
    let n = 0;
    const runSelect = runCols.map(col =>
      col === 'id' ? '?' : col === 'provider_run_id' ? '?' : col,
    );
    const jobSelect = jobCols.map(col =>
      col === 'run_id' ? '?' : col === 'job_id' ? '?' : col,
    );
    const [tplJob] = await knex('ci_jobs')
      .where('run_id', template)
      .select('job_id');
    const timed = async (kind, fn) => {
      const start = Date.now();
      await fn();
      writes.push({ kind, start, end: Date.now() });
    };
    const writer = async () => {
      while (!stop) {
        const i = n++;
        const id = `w${String(i).padStart(21, '0')}`;
        await timed('insert run', () =>
          knex.raw(
            `INSERT INTO ci_runs (${runCols.join(
              ', ',
            )}) SELECT ${runSelect.join(', ')} FROM ci_runs WHERE id = ?`,
            [id, String(8_000_000_000 + i), template],
          ),
        );
        await timed('insert job', () =>
          knex.raw(
            `INSERT INTO ci_jobs (${jobCols.join(
              ', ',
            )}) SELECT ${jobSelect.join(
              ', ',
            )} FROM ci_jobs WHERE run_id = ? AND job_id = ?`,
            [id, String(80_000_000_000 + i), template, tplJob.job_id],
          ),
        );
        await timed('update run', () =>
          knex('ci_runs')
            .where('id', sample[i % sample.length])
            .update({ provider_updated_at: new Date().toISOString() }),
        );
      }
    };
    const writing = Promise.all(Array.from({ length: s.writers }, writer));
    const stats = (from, to) => {
      const w = writes.filter(x => x.end >= from && x.start <= to);
      const ms = w.map(x => x.end - x.start).sort((a, b) => a - b);
      const ends = w.map(x => x.end).sort((a, b) => a - b);
      let gap = ends.length ? ends[0] - from : to - from;
      for (let k = 1; k < ends.length; k++)
        gap = Math.max(gap, ends[k] - ends[k - 1]);
      if (ends.length) gap = Math.max(gap, to - ends[ends.length - 1]);
      const longest = w.reduce(
        (a, x) => (!a || x.end - x.start > a.end - a.start ? x : a),
        undefined,
      );
      return {
        writes: w.length,
        rate: w.length / ((to - from) / 1000),
        p50: c.pct(ms, 0.5),
        p99: c.pct(ms, 0.99),
        max: ms[ms.length - 1],
        maxKind: longest?.kind,
        maxAt: longest ? longest.start - from : undefined,
        gap,
      };
    };
    let failure;
    const phases = [];
    try {
      const b0 = Date.now();
      await new Promise(r => setTimeout(r, s.baselineS * 1000));
      const before = stats(b0, Date.now());
      log(`writes before: ${c.f(before.rate, 0)}/s, longest ${before.max} ms`);
      const m0 = Date.now();
      for (const name of todo) {
        const t = Date.now();
        await knex.migrate.up({ directory: c.MIGRATIONS, name });
        const end = Date.now();
        const st = stats(t, end);
        phases.push({ name, ms: end - t, ...st });
        log(
          `${name}: ${c.f((end - t) / 1000)} s; writes meanwhile ${
            st.writes
          }, longest ${st.max} ms (${st.maxKind}), longest gap ${st.gap} ms`,
        );
      }
      const m1 = Date.now();
      const during = stats(m0, m1);
      await new Promise(r => setTimeout(r, 5000));
      const after = stats(m1, Date.now());
      stop = true;
      await writing;
      const nullActivity = Number(
        (
          await knex('ci_runs')
            .whereNull('activity_at')
            .whereRaw("id NOT LIKE 'w%'")
            .count('* as n')
        )[0].n,
      );
      const writerNull = Number(
        (
          await knex('ci_runs')
            .whereNull('activity_at')
            .whereRaw("id LIKE 'w%'")
            .count('* as n')
        )[0].n,
      );
      const invalid = (
        await knex.raw(
          `SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_class t ON t.oid = i.indrelid WHERE NOT i.indisvalid AND t.relname LIKE 'ci\\_%'`,
        )
      ).rows.map(r => r.relname);
      const stallMax = Math.max(during.max ?? 0, during.gap);
      return {
        settings: s,
        env,
        date: new Date().toISOString(),
        amplifyMs: amp.ms,
        runs: count,
        jobs,
        migrations: todo,
        before,
        during: { ...during, ms: m1 - m0 },
        after,
        phases,
        nullActivity,
        writerNull,
        invalid,
        stallMax,
        met:
          stallMax <= TARGET_MS && nullActivity === 0 && invalid.length === 0,
      };
    } catch (e) {
      failure = e;
      throw e;
    } finally {
      stop = true;
      await writing.catch(e => {
        if (!failure) throw e;
      });
    }
  } finally {
    await knex.destroy();
  }
}

function report(r, error) {
  const heading = '## 7. Migrations at 1M runs';
  if (!r) {
    return {
      rows: [
        `| 7. Migrations at 1M runs | could not run: ${error} | | **did not run** |`,
      ],
      section: [heading, '', `Could not run: ${error}`, ''],
    };
  }
  const s = r.settings;
  const rows = [
    `| 7. Migrations on ${c.f(
      r.runs,
      0,
    )} runs beside writes, PostgreSQL | longest write ${c.f(
      r.during.max,
      0,
    )} ms, longest gap between writes ${c.f(r.during.gap, 0)} ms (${c.f(
      r.before.max,
      0,
    )} / ${c.f(r.before.gap, 0)} ms before them) over ${c.f(
      r.during.ms / 1000,
    )} s of migrations | no write blocked > ${TARGET_MS / 1000} s | ${c.yes(
      r.met,
    )} |`,
  ];
  const L = [heading, ''];
  L.push(
    `Run of ${r.date.slice(0, 10)} on ${
      r.env
    }. Method: \`bench/migrate/\` (\`yarn bench migrate\`). A fresh database with the plugin's migrations and ${c.f(
      s.seed,
      0,
    )} runs stored through \`KnexCiStore.upsertRuns\` (shaped as in section 5); every migration from \`${FIRST}\` on undone, so the tables are at the schema before it; the runs and jobs copied in SQL to **${c.f(
      r.runs,
      0,
    )} runs and ${c.f(r.jobs, 0)} jobs** (${c.f(
      r.amplifyMs / 1000,
    )} s), \`VACUUM ANALYZE\`. Then ${
      s.writers
    } writers write continuously, each in turn: a new run (\`INSERT\` into \`ci_runs\`), a job of it (\`INSERT\` into \`ci_jobs\`), an update of a stored run (\`UPDATE ci_runs ... WHERE id = ?\`, one of 5,000 sampled runs), each statement on its own, on the columns of the older schema (as a replica still on the older version writes during a rolling deploy): ${
      s.baselineS
    } s before the migrations, during them, and 5 s after. The migrations run one by one (\`knex.migrate.up\`, as \`migrate.latest\` runs them on start: ${r.migrations
      .map(m => `\`${m}\``)
      .join(
        ', ',
      )}). A write's latency is from its statement's start to its answer; the longest gap is the longest time no write completed at all. Target: no write blocked longer than ${
      TARGET_MS / 1000
    } s.`,
  );
  L.push('');
  L.push('| | Before | During the migrations | After |');
  L.push('| --- | ---: | ---: | ---: |');
  const row = (label, fn) =>
    L.push(`| ${label} | ${fn(r.before)} | ${fn(r.during)} | ${fn(r.after)} |`);
  row('Writes (per second)', w => `${c.f(w.writes, 0)} (${c.f(w.rate, 0)}/s)`);
  row('Write latency p50 / p99', w => `${c.f(w.p50, 0)} / ${c.f(w.p99, 0)} ms`);
  row(
    '**Longest write**',
    w => `**${c.f(w.max, 0)} ms** (${w.maxKind ?? 'n/a'})`,
  );
  row(
    '**Longest gap between completed writes**',
    w => `**${c.f(w.gap, 0)} ms**`,
  );
  L.push('');
  L.push(
    '| Migration | Duration | Writes meanwhile | Longest write | Longest gap |',
  );
  L.push('| --- | ---: | ---: | ---: | ---: |');
  for (const p of r.phases) {
    L.push(
      `| \`${p.name}\` | ${c.f(p.ms / 1000, 2)} s | ${c.f(p.writes, 0)} | ${c.f(
        p.max,
        0,
      )} ms (${p.maxKind ?? 'n/a'}) | ${c.f(p.gap, 0)} ms |`,
    );
  }
  L.push(
    `| **All** | **${c.f(r.during.ms / 1000, 1)} s** | ${c.f(
      r.during.writes,
      0,
    )} | ${c.f(r.during.max, 0)} ms | ${c.f(r.during.gap, 0)} ms |`,
  );
  L.push('');
  L.push(
    `After the migrations: ${c.f(
      r.nullActivity,
      0,
    )} of the runs stored before them lack \`activity_at\` (the batched backfill filled every one), ${
      r.invalid.length
        ? `invalid indexes: ${r.invalid.join(', ')}`
        : 'no index left invalid'
    }; ${c.f(
      r.writerNull,
      0,
    )} runs the older-schema writer inserted after the backfill's last sweep have none (an older replica does not write the new columns; the new version writes them). Result: ${c.yes(
      r.met,
    )} (longest stall ${c.f(r.stallMax, 0)} ms against ${TARGET_MS} ms).`,
  );
  L.push('');
  L.push(
    `How the migrations keep writes going (PostgreSQL): the ones on \`ci_runs\` and \`ci_jobs\` run outside a transaction (\`exports.config = { transaction: false }\`, which knex honours per migration); columns are added nullable or with a constant default (a catalog change, no table rewrite) in a transaction that waits at most 1 s for its lock (\`SET LOCAL lock_timeout\`) and tries again, so writers queue behind it for no longer; backfills go through the table in batches of 2,000 runs by primary key, each its own statement; indexes are built with \`CREATE INDEX CONCURRENTLY IF NOT EXISTS\` (an index an interrupted build left invalid is dropped and built again). SQLite runs the same steps with plain statements. Knobs: \`BENCH_MIGRATE_RUNS\` (1,000,000), \`BENCH_MIGRATE_SEED\` (5,000), \`BENCH_MIGRATE_WRITERS\` (2), \`BENCH_MIGRATE_BASELINE_S\` (10).`,
  );
  L.push('');
  return { rows, section: L };
}

module.exports = { runMigrateBench, migrateReport: report };
