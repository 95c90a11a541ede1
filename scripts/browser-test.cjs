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
      await page.goto(`${APP}/catalog/default/component/payments-service/ci`);
      const table = page.locator('table');
      await table.first().waitFor();
      // Runs arrive once the first sync ends: wait for a run row with a workflow name.
      await page
        .getByRole('cell', { name: /^(CI|Deploy)$/ })
        .first()
        .waitFor({ timeout: 90_000 });
      const rows = await page.locator('tbody tr').count();
      if (rows < 2) {
        throw new Error(`expected several runs, saw ${rows} rows`);
      }
      fs.mkdirSync(path.join(root, 'docs', 'images'), { recursive: true });
      await page.screenshot({
        path: path.join(root, 'docs', 'images', 'ci-tab.png'),
      });
    });

    await check('CI status card on the Overview', async () => {
      await page.goto(`${APP}/catalog/default/component/payments-service`);
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
      'a refused repository shows GitHub\'s reason, not "no data"',
      async () => {
        await page.goto(`${APP}/catalog/default/component/legacy-billing/ci`);
        await page
          .getByText(/Resource not accessible by integration/)
          .first()
          .waitFor({ timeout: 90_000 });
      },
    );

    await check(
      'an entity without annotation says which annotation is missing',
      async () => {
        await page.goto(`${APP}/catalog/default/component/docs-site`);
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
        await page.goto(
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
        await page.goto(`${APP}/catalog/default/component/payments-service/ci`);
        await page.locator('#ci-filter-status').selectOption('failed');
        // Triage classifies failed jobs from their logs within seconds of
        // the first sync; a classified run has a "How to fix" link.
        const fix = page
          .locator('tbody tr')
          .filter({ has: page.getByRole('link', { name: /^How to fix/ }) })
          .first();
        await fix.waitFor({ timeout: 120_000 });
        const title = (
          await fix.locator('span[title]').first().innerText()
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
        await page.goto(runUrl);
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
        await page.goto(`${APP}/catalog/default/component/payments-service/ci`);
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
        await page.goto(`${APP}/catalog/default/group/payments-team`);
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
        await page.goto(`${APP}/catalog/default/component/payments-service/ci`);
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
        await page.goto(`${APP}/notifications`);
        await page
          .getByText(`CI alert on payments-service: ${name}`)
          .first()
          .waitFor({ timeout: 60_000 });
        // Leave the demo as it was: main fixed, the rule gone.
        await fetch(`${SIM}/_simulator/repos/${repo}/fix`, { method: 'POST' });
        await page.goto(`${APP}/catalog/default/component/payments-service/ci`);
        await page.getByRole('button', { name: `Delete ${name}` }).click();
        await page
          .getByRole('dialog')
          .getByRole('button', { name: /^Delete/ })
          .click();
        await page.getByRole('row', { name }).waitFor({ state: 'detached' });
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
