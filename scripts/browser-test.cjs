/*
 * Browser test: starts the portal as the README says (`yarn start`), signs in
 * as guest in Debian's Chromium driven by playwright-core, opens a demo
 * service's CI tab and Overview, checks what a developer sees, and saves a
 * screenshot for the README under docs/images/. Prints
 * `browser: N passed, N failed` and exits non-zero on any failure.
 */
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { chromium } = require('playwright-core');

const root = path.resolve(__dirname, '..');
const APP = 'http://localhost:3000';
const BACKEND = 'http://localhost:7007';
const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const results = [];
let currentPage;

async function check(name, fn) {
  const started = Date.now();
  try {
    await fn();
    results.push({ name, ok: true });
    console.log(`  ok   ${name} (${Date.now() - started}ms)`);
  } catch (error) {
    results.push({ name, ok: false });
    console.log(`  FAIL ${name}: ${error.message.split('\n')[0]}`);
    if (currentPage) {
      const file = path.join(
        root,
        'test-results',
        `failed-${results.length}.png`,
      );
      await currentPage.screenshot({ path: file }).catch(() => {});
      console.log(`       screenshot: ${path.relative(root, file)}`);
    }
  }
}

async function waitFor(url, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const res = await fetch(url);
      if (res.ok) {
        return;
      }
      last = `HTTP ${res.status}`;
    } catch (error) {
      last = error.message;
    }
    await new Promise(r => setTimeout(r, 1000));
  }
  throw new Error(`${url} not ready after ${timeoutMs / 1000}s (${last})`);
}

/**
 * Opens a page of the portal as a pasted link would. The demo backend runs
 * in watch mode and restarts when a source file changes; a page loaded
 * while it restarts cannot refresh the guest session and shows the sign-in
 * page: sign in again, the page then renders at the same URL.
 */
async function open(page, url) {
  await page.goto(url);
  const enter = page.getByRole('button', { name: /^enter$/i });
  // The app's sidebar: on every page of the app, not on the sign-in page.
  const app = page.locator('nav[aria-label="sidebar nav"]');
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (await enter.isVisible().catch(() => false)) {
      console.log(`       (signed in again at ${url.replace(APP, '')})`);
      await enter.click();
      await app.first().waitFor({ state: 'attached', timeout: 60_000 });
      return;
    }
    if ((await app.count()) > 0) {
      return;
    }
    if (Date.now() > deadline) {
      throw new Error(`${url} showed neither the app nor the sign-in page`);
    }
    await page.waitForTimeout(250);
  }
}

/**
 * Every run row of the CI tab's table takes one line: no cell's text wraps
 * (each text's boxes share one line), every row has the same height, and the
 * table fits its box without scrolling sideways. Measured in the page.
 */
async function expectOneLinePerRow(page) {
  const report = await page.evaluate(() => {
    const rows = [...document.querySelectorAll('table tbody tr')].filter(tr =>
      tr.querySelector('a[href*="/ci/runs/"]'),
    );
    const hidden = (el, stop) => {
      for (let e = el; e && e !== stop; e = e.parentElement) {
        const box = e.getBoundingClientRect();
        if (box.width <= 1 || box.height <= 1) return true;
      }
      return false;
    };
    const wrapped = [];
    rows.forEach((tr, i) => {
      for (const td of tr.children) {
        const centers = [];
        const walker = document.createTreeWalker(td, NodeFilter.SHOW_TEXT);
        while (walker.nextNode()) {
          const node = walker.currentNode;
          // Visually hidden texts ("Opens in a new window") are 1px boxes.
          if (!node.textContent.trim() || hidden(node.parentElement, td)) {
            continue;
          }
          const range = document.createRange();
          range.selectNodeContents(node);
          for (const r of range.getClientRects()) {
            if (r.width > 1 && r.height > 1) centers.push(r.top + r.height / 2);
          }
        }
        centers.sort((a, b) => a - b);
        let lines = 0;
        let last = -Infinity;
        for (const c of centers) {
          if (c - last > 6) {
            lines += 1;
            last = c;
          }
        }
        if (lines > 1) {
          wrapped.push(
            `row ${i + 1} "${td.innerText
              .replace(/\s+/g, ' ')
              .slice(0, 50)}" (${lines} lines)`,
          );
        }
      }
    });
    const heights = rows.map(tr =>
      Math.round(tr.getBoundingClientRect().height),
    );
    let overflow = document.documentElement.scrollWidth - window.innerWidth;
    for (
      let e = rows[0]?.closest('table');
      e && e !== document.body;
      e = e.parentElement
    ) {
      if (/(auto|scroll)/.test(getComputedStyle(e).overflowX)) {
        overflow = Math.max(overflow, e.scrollWidth - e.clientWidth);
        break;
      }
    }
    return {
      rows: rows.length,
      wrapped,
      heights,
      overflow,
      width: window.innerWidth,
    };
  });
  if (report.rows === 0) {
    throw new Error('no run rows to measure');
  }
  if (report.wrapped.length) {
    throw new Error(
      `cells wrap at ${report.width}px: ${report.wrapped
        .slice(0, 3)
        .join('; ')}`,
    );
  }
  const min = Math.min(...report.heights);
  const max = Math.max(...report.heights);
  if (max - min > 2) {
    throw new Error(
      `rows are ${min} to ${max}px high at ${report.width}px: some take more than one line`,
    );
  }
  if (report.overflow > 1) {
    throw new Error(
      `the table is ${report.overflow}px wider than its box at ${report.width}px`,
    );
  }
  return report;
}

/**
 * Opens a finished run from the CI tab the page is on, and checks its page:
 * jobs listed, and, where `steps` is 'required', a job that opens to its
 * steps (steps taken from a log appear once the log has been read). Returns
 * what it saw.
 */
async function openRunAndCheckJobs(page, { steps, screenshot }) {
  const row = page
    .locator('tbody tr')
    .filter({ hasText: /Succeeded|Failed/ })
    .first();
  await row.waitFor({ timeout: 120_000 });
  await row.getByRole('link', { name: /jobs and logs$/ }).click();
  await page.waitForURL(/\/ci\/runs\/[^/]+$/);
  const jobs = page.locator(
    '[role="list"][aria-label^="Jobs"] > [role="listitem"]',
  );
  await jobs.first().waitFor({ timeout: 60_000 });
  // A run a webhook finished before a sync read its job list says so; the
  // page re-reads it until the next sync (the demo's pass runs every 30 s,
  // the source then due at the active cadence of a minute) has read it.
  // Where steps are optional (a Buildkite job is itself a step) the jobs the
  // deliveries brought will do: the demo's Buildkite budget (160 requests
  // an hour) is spent by the backfill, and the list is read within the hour.
  if (steps === 'required') {
    await page
      .getByTestId('jobs-pending')
      .waitFor({ state: 'detached', timeout: 180_000 });
  }
  const jobCount = await jobs.count();
  let stepCount = 0;
  let opened = 0;
  for (let i = 0; i < Math.min(jobCount, 4) && stepCount === 0; i++) {
    const job = jobs.nth(i);
    const toggle = job.locator('button[aria-expanded="false"]').first();
    if (!(await toggle.count())) continue;
    await toggle.click();
    opened += 1;
    // The log (or why there is none), then steps: at once, or after the
    // run is re-read for the steps its log showed.
    await job
      .getByTestId('job-log')
      .or(job.getByRole('alert'))
      .first()
      .waitFor({ timeout: 60_000 });
    await job
      .getByTestId('job-step')
      .first()
      .waitFor({ timeout: steps === 'required' ? 15_000 : 3_000 })
      .catch(() => undefined);
    stepCount = await job.getByTestId('job-step').count();
  }
  const basis = await page
    .getByTestId('critical-path')
    .getAttribute('data-basis', { timeout: 1_000 })
    .catch(() => 'none');
  if (screenshot) {
    await page.screenshot({ path: screenshot, fullPage: true });
  }
  if (steps === 'required' && stepCount === 0) {
    throw new Error(
      `${jobCount} jobs, but none of the ${opened} opened shows steps`,
    );
  }
  return { jobs: jobCount, steps: stepCount, criticalPath: basis };
}

/**
 * Opens the entity's finished runs, newest first, until one's Tests card
 * lists tests: the backend reads each finished run's results from its
 * provider (GitLab's test report, Jenkins' testReport, CircleCI's job
 * tests, GitHub and Buildkite JUnit artifacts) once after the sync that
 * brought it, so the first runs may need a moment. Answers the summary.
 */
async function openRunWithTests(page, entity) {
  const deadline = Date.now() + 240_000;
  for (let round = 0; Date.now() < deadline; round++) {
    await open(page, `${APP}/catalog/default/component/${entity}/ci`);
    const rows = page
      .locator('tbody tr')
      .filter({ hasText: /Succeeded|Failed/ });
    await rows.first().waitFor({ timeout: 120_000 });
    const links = await rows
      .locator('a[href*="/ci/runs/"]')
      .evaluateAll(as => [...new Set(as.map(a => a.getAttribute('href')))]);
    for (const href of links.slice(0, 5)) {
      await open(page, new URL(href, APP).toString());
      const summary = page.getByTestId('tests-summary');
      const none = page.getByText(/^No test results for this run/);
      await summary.or(none).first().waitFor({ timeout: 30_000 });
      if (await summary.count()) {
        return (await summary.innerText()).trim();
      }
    }
    await page.waitForTimeout(10_000);
  }
  throw new Error(`no run of ${entity} among its newest shows test results`);
}

// The demo entity of each provider (examples/entities.yaml). `steps`:
// whether one of the first jobs of a finished run must show steps. A
// Buildkite job is itself a step: it has none.
// `tests`: whether a run page must show test results (every provider's do).
const PROVIDER_ENTITIES = [
  {
    provider: 'github-actions',
    entity: 'checkout-web',
    steps: 'required',
    tests: true,
  },
  {
    provider: 'gitlab',
    entity: 'storefront-gitlab',
    steps: 'required',
    tests: true,
  },
  {
    provider: 'jenkins',
    entity: 'checkout-deploys',
    steps: 'required',
    tests: true,
  },
  {
    provider: 'buildkite',
    entity: 'inventory-buildkite',
    steps: 'optional',
    tests: true,
  },
  {
    provider: 'circleci',
    entity: 'checkout-circleci',
    steps: 'required',
    tests: true,
  },
];

async function main() {
  const logFile = path.join(root, 'test-results', 'portal.log');
  fs.mkdirSync(path.dirname(logFile), { recursive: true });
  const log = fs.openSync(logFile, 'w');
  console.log(
    `Starting the portal with \`yarn start\` (log: ${path.relative(
      root,
      logFile,
    )})`,
  );
  const portal = spawn(
    process.execPath,
    [path.join(root, '.yarn', 'launcher.cjs'), 'start'],
    {
      cwd: root,
      stdio: ['ignore', log, log],
      detached: true,
      env: { ...process.env, BROWSER: 'none' },
    },
  );
  const stop = () => {
    try {
      process.kill(-portal.pid, 'SIGTERM');
    } catch {
      // already gone
    }
  };
  process.on('exit', stop);

  let browser;
  try {
    await check('backend readiness answers 200 (every plugin started)', () =>
      waitFor(`${BACKEND}/.backstage/health/v1/readiness`, 240_000),
    );
    await check('app is served on :3000', () => waitFor(APP, 420_000));

    browser = await chromium.launch({
      executablePath,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    const page = await browser.newPage({
      viewport: { width: 1440, height: 1000 },
    });
    page.setDefaultTimeout(60_000);
    currentPage = page;
    const pageErrors = [];
    page.on('pageerror', e => pageErrors.push(e.message));

    await check('guest sign-in', async () => {
      await page.goto(APP);
      await page.getByRole('button', { name: /enter/i }).click();
      await page.getByText('payments-service').first().waitFor();
    });

    await check('CI tab lists workflow runs of payments-service', async () => {
      await open(page, `${APP}/catalog/default/component/payments-service/ci`);
      const table = page.locator('table');
      await table.first().waitFor();
      // Runs arrive once the first sync ends: wait for a run row with a workflow name.
      await page
        .locator('tbody td span[title]')
        .filter({ hasText: /^(CI|Deploy)$/ })
        .first()
        .waitFor({ timeout: 90_000 });
      const rows = await page.locator('tbody tr').count();
      if (rows < 2) {
        throw new Error(`expected several runs, saw ${rows} rows`);
      }
      // The default view: each source's runs on its own default branch.
      const chosen = await page
        .locator('#ci-filter-branch option:checked')
        .innerText();
      if (!/^Default branch/.test(chosen)) {
        throw new Error(`the branch filter starts at "${chosen}"`);
      }
      fs.mkdirSync(path.join(root, 'docs', 'images'), { recursive: true });
      await page.screenshot({
        path: path.join(root, 'docs', 'images', 'ci-tab.png'),
      });
    });

    await check('CI status card on the Overview', async () => {
      await open(page, `${APP}/catalog/default/component/payments-service`);
      await page.getByText('CI status').first().waitFor();
      await page
        .getByText(/^(CI|Deploy)$/)
        .first()
        .waitFor();
      await page.screenshot({
        path: path.join(root, 'docs', 'images', 'ci-status-card.png'),
      });
    });

    await check(
      'the runs table keeps each run on one line at 1440 px',
      async () => {
        await open(
          page,
          `${APP}/catalog/default/component/payments-service/ci`,
        );
        await page
          .locator('tbody tr a[href*="/ci/runs/"]')
          .first()
          .waitFor({ timeout: 90_000 });
        const report = await expectOneLinePerRow(page);
        console.log(
          `       ${report.rows} rows, each ${report.heights[0]}px high`,
        );
      },
    );

    for (const { provider, entity, steps, tests } of PROVIDER_ENTITIES) {
      await check(
        `${provider}: ${entity}'s CI tab lists its runs, one line each, with the provider's icon`,
        async () => {
          await open(page, `${APP}/catalog/default/component/${entity}/ci`);
          // The first sync of each provider ends within a minute or two.
          await page
            .locator('tbody tr a[href*="/ci/runs/"]')
            .first()
            .waitFor({ timeout: 120_000 });
          const icons = await page
            .locator(`tbody tr svg[data-provider="${provider}"]`)
            .count();
          if (icons === 0) {
            throw new Error(`no row shows the ${provider} icon`);
          }
          await expectOneLinePerRow(page);
          await page
            .locator('table')
            .first()
            .screenshot({
              path: path.join(root, 'test-results', `table-${provider}.png`),
            });
        },
      );
      if (tests) {
        await check(
          `${provider}: a run page of ${entity} shows its test results`,
          async () => {
            const seen = await openRunWithTests(page, entity);
            console.log(`       ${seen}`);
          },
        );
      } else {
        console.log(
          `  --   ${provider}: test results not checked in the browser (see PROVIDER_ENTITIES)`,
        );
      }
      await check(
        `${provider}: a run page of ${entity} shows its jobs${
          steps === 'required' ? ' and steps' : ''
        }`,
        async () => {
          await open(page, `${APP}/catalog/default/component/${entity}/ci`);
          const seen = await openRunAndCheckJobs(page, {
            steps,
            screenshot: path.join(root, 'test-results', `run-${provider}.png`),
          });
          console.log(
            `       ${seen.jobs} jobs, ${seen.steps} steps in the first job with steps, critical path: ${seen.criticalPath}`,
          );
        },
      );
    }

    await check(
      'a refused repository shows GitHub\'s reason, not "no data"',
      async () => {
        await open(page, `${APP}/catalog/default/component/legacy-billing/ci`);
        await page
          .getByText(/Resource not accessible by integration/)
          .first()
          .waitFor({ timeout: 90_000 });
      },
    );

    await check(
      'an entity without annotation says which annotation is missing',
      async () => {
        await open(page, `${APP}/catalog/default/component/docs-site`);
        await page
          .getByText('payments-team')
          .or(page.getByText('storefront-team'))
          .first()
          .waitFor();
        const ciTab = await page.getByRole('tab', { name: /^CI$/ }).count();
        if (ciTab !== 0) {
          throw new Error(
            'the CI tab shows on an entity without CI annotation',
          );
        }
      },
    );

    await check(
      'TechDocs renders the "Out of memory" troubleshooting guide',
      async () => {
        // The first visit builds the docs with the local mkdocs (seconds).
        await open(
          page,
          `${APP}/docs/default/component/ci-experience/troubleshooting/out-of-memory`,
        );
        await page
          .locator('article h1')
          .filter({ hasText: /^Out of memory/ })
          .first()
          .waitFor({ timeout: 180_000 });
        // The guide's own sections, rendered from docs/troubleshooting/out-of-memory.md.
        for (const section of [
          'Symptoms',
          'Log lines that match',
          'Likely causes',
          'Fixes',
          'How to confirm',
        ]) {
          await page
            .locator('article h2')
            .filter({ hasText: new RegExp(`^${section}`) })
            .first()
            .waitFor({ timeout: 10_000 });
        }
        await page
          .getByText('JavaScript heap out of memory')
          .first()
          .waitFor({ timeout: 10_000 });
        // TechDocs keeps the page transparent until every stylesheet of the
        // generated site has loaded (one that cannot, e.g. an external font
        // offline, leaves it blank): the heading must really be seen.
        await page.waitForFunction(
          () => {
            const host = [...document.querySelectorAll('*')].find(
              e => e.shadowRoot && e.shadowRoot.querySelector('article h1'),
            );
            let node = host?.shadowRoot.querySelector('article h1');
            let opacity = node ? 1 : 0;
            while (node) {
              opacity *= Number(getComputedStyle(node).opacity);
              node = node.parentElement ?? node.getRootNode().host;
            }
            return opacity > 0.99;
          },
          undefined,
          { timeout: 30_000 },
        );
        await page.screenshot({
          path: path.join(root, 'test-results', 'troubleshooting-guide.png'),
        });
      },
    );

    await check(
      "a failed run's page says why it failed, and How to fix opens its guide",
      async () => {
        await open(
          page,
          `${APP}/catalog/default/component/payments-service/ci`,
        );
        await page.locator('#ci-filter-status').selectOption('failed');
        // Triage classifies failed jobs from their logs within seconds of
        // the first sync; a classified run has a "How to fix" link.
        const fix = page
          .locator('tbody tr')
          .filter({ has: page.getByRole('link', { name: /^How to fix/ }) })
          .first();
        await fix.waitFor({ timeout: 120_000 });
        const title = (
          await fix.getByTestId('failure-title').first().innerText()
        ).trim();
        // Open the run page from the row, as a developer would.
        await fix.getByRole('link', { name: /jobs and logs$/ }).click();
        await page.waitForURL(/\/ci\/runs\/[A-Za-z0-9_-]+$/);
        const runUrl = page.url();
        await page
          .getByText('Why it failed')
          .first()
          .waitFor({ timeout: 30_000 })
          .catch(() => undefined);
        await page.getByText(title, { exact: true }).first().waitFor();
        // The URL of the run page can be pasted: it opens the same run.
        await open(page, runUrl);
        await page.getByText(title, { exact: true }).first().waitFor();
        await page.screenshot({
          path: path.join(root, 'docs', 'images', 'ci-run-page.png'),
          fullPage: true,
        });
        await page
          .getByRole('link', { name: new RegExp(`^How to fix`) })
          .first()
          .click();
        await page.waitForURL(
          /\/docs\/default\/component\/ci-experience\/troubleshooting\/[a-z-]+\/?$/,
        );
        await page
          .locator('article h1')
          .filter({ hasText: title })
          .first()
          .waitFor({ timeout: 180_000 });
      },
    );

    await check(
      'the CI tab shows health figures with their samples, and charts',
      async () => {
        await open(
          page,
          `${APP}/catalog/default/component/payments-service/ci`,
        );
        const success = page.getByRole('group', { name: 'Success rate' });
        // Aggregates follow ingestion within seconds of the first sync.
        await success.getByText(/%$/).first().waitFor({ timeout: 120_000 });
        await success
          .getByText(/on \d+ runs?/)
          .first()
          .waitFor();
        await page
          .getByRole('button', { name: /Show charts and rankings/ })
          .click();
        await page
          .getByTestId('ci-chart-duration')
          .locator('.recharts-line-dot')
          .first()
          .waitFor({ timeout: 30_000 });
        await page.screenshot({
          path: path.join(root, 'docs', 'images', 'ci-insights.png'),
          fullPage: true,
        });
      },
    );

    await check(
      "a team's page lists its components' CI health, linking to their CI tab",
      async () => {
        await open(page, `${APP}/catalog/default/group/payments-team`);
        const link = page
          .getByRole('link', { name: 'payments-service' })
          .and(page.locator('a[href$="/component/payments-service/ci"]'))
          .first();
        await link.waitFor({ timeout: 60_000 });
        await link.click();
        await page.waitForURL(/\/component\/payments-service\/ci$/);
        await page.getByRole('group', { name: 'Success rate' }).waitFor();
      },
    );

    await check(
      'an owner creates an alert rule, the simulator breaks main, the notification shows in the portal',
      async () => {
        const SIM = 'http://localhost:7008';
        const repo = 'demo-org/payments-service';
        const name = `Main broken (browser test ${Date.now()})`;
        // A workflow whose latest run on main passed, so that the rule
        // starts ok (read from the simulator's GitHub API).
        const res = await fetch(
          `${SIM}/api/v3/repos/${repo}/actions/runs?branch=main&per_page=100`,
          { headers: { authorization: 'token simulator-token' } },
        );
        const { workflow_runs: runs } = await res.json();
        const latest = new Map();
        for (const r of runs) {
          if (!latest.has(r.name)) latest.set(r.name, r);
        }
        const workflow =
          [...latest.values()].find(
            r => r.status === 'completed' && r.conclusion === 'success',
          )?.name ?? 'CI';
        await open(
          page,
          `${APP}/catalog/default/component/payments-service/ci`,
        );
        await page.getByRole('button', { name: /New rule/ }).click();
        await page.getByLabel('Name').fill(name);
        await page.getByLabel('Failed runs in a row').fill('1');
        await page.getByLabel('Or failing for (minutes)').fill('');
        await page.getByLabel('Workflow (optional)').fill(workflow);
        await page
          .getByTestId('alert-preview-count')
          .waitFor({ timeout: 30_000 });
        await page.getByRole('button', { name: 'Create rule' }).click();
        const row = page.getByRole('row', { name });
        await row.waitFor({ timeout: 30_000 });
        // The rule must be ok before the branch breaks: if main was red
        // already, fix it first and wait.
        const stateOf = async () =>
          (
            await row
              .getByText(/^(OK|Firing)$/)
              .first()
              .innerText()
          ).trim();
        let fixed = false;
        for (let i = 0; ; i++) {
          if ((await stateOf()) === 'OK') break;
          if (!fixed) {
            await fetch(`${SIM}/_simulator/repos/${repo}/fix`, {
              method: 'POST',
            });
            fixed = true;
          }
          if (i > 60) throw new Error('the rule never got to OK');
          await new Promise(r => setTimeout(r, 5000));
          await page.reload();
          await row.waitFor();
        }
        const broke = await fetch(`${SIM}/_simulator/repos/${repo}/break`, {
          method: 'POST',
        });
        if (!broke.ok) throw new Error(`break answered ${broke.status}`);
        for (let i = 0; (await stateOf()) !== 'Firing'; i++) {
          if (i > 36) throw new Error('the rule did not fire within 3 minutes');
          await new Promise(r => setTimeout(r, 5000));
          await page.reload();
          await row.waitFor();
        }
        await page.screenshot({
          path: path.join(root, 'docs', 'images', 'ci-alerts.png'),
          fullPage: true,
        });
        // The notification, to the owners (guest is in payments-team).
        await open(page, `${APP}/notifications`);
        await page
          .getByText(`CI alert on payments-service: ${name}`)
          .first()
          .waitFor({ timeout: 60_000 });
        // Leave the demo as it was: main fixed, the rule gone.
        await fetch(`${SIM}/_simulator/repos/${repo}/fix`, { method: 'POST' });
        await open(
          page,
          `${APP}/catalog/default/component/payments-service/ci`,
        );
        await page.getByRole('button', { name: `Delete ${name}` }).click();
        await page
          .getByRole('dialog')
          .getByRole('button', { name: /^Delete/ })
          .click();
        await page.getByRole('row', { name }).waitFor({ state: 'detached' });
      },
    );

    await check(
      "an admin's operator page shows provider hosts, synced sources and queues",
      async () => {
        // The demo's guest is in platform-team, granted ci-experience.admin.read.
        await open(page, `${APP}/ci-experience/operations`);
        await page
          .getByRole('heading', { name: 'Provider hosts' })
          .waitFor({ timeout: 60_000 });
        // The simulated GitHub host, with its budget.
        await page.getByText('localhost:7008').first().waitFor();
        // payments-service's source, synced by the checks above.
        await page
          .getByRole('row')
          .filter({ hasText: 'demo-org/payments-service' })
          .first()
          .waitFor({ timeout: 60_000 });
        await page.getByText('Alert notification outbox').waitFor();
      },
    );

    await check('no uncaught errors in the page', async () => {
      if (pageErrors.length) {
        throw new Error(pageErrors.join('; '));
      }
    });
  } finally {
    await browser?.close();
    stop();
  }
  const ok = results.filter(r => r.ok).length;
  console.log(`browser: ${ok} passed, ${results.length - ok} failed`);
  process.exit(results.length - ok === 0 ? 0 : 1);
}

main().catch(error => {
  console.error(error);
  const ok = results.filter(r => r.ok).length;
  console.log(`browser: ${ok} passed, ${results.length - ok + 1} failed`);
  process.exit(1);
});
