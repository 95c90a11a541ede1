import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { fireEvent, screen, waitFor, within } from '@testing-library/react';
import { CiJob } from '@ci-experience/plugin-ci-experience-common';
import { CiExperienceApi } from '../../api';
import { RUN_POLL_INTERVAL_MS } from './CiRunPage';
import {
  annotatedEntity,
  atMinute,
  makeResponse,
  makeRun,
  makeRunDetail,
  alertsApiStubs,
  testsApiStubs,
  insightsApiStubs,
} from '../../testing/fixtures';
import { CI_TAB as TAB, renderCiTab } from '../../__testUtils__/renderCiTab';

// The whole app is rendered; slow on a loaded 2-core machine, no speed target.
jest.setTimeout(60_000);

function fakeApi(overrides: Partial<CiExperienceApi> = {}) {
  return {
    getRuns: jest.fn(async () => makeResponse({ items: [makeRun()] })),
    getRun: jest.fn(async (id: string) =>
      makeRunDetail(id === 'run-1' ? {} : { id, attempt: 2 }),
    ),
    getJobLog: jest.fn(async () => ({
      text: 'Run tests\nFAIL src/refunds.test.ts\nDone',
      truncated: false,
    })),
    rerunRun: jest.fn(async () => {}),
    cancelRun: jest.fn(async () => {}),
    ...insightsApiStubs(),
    ...alertsApiStubs(),
    ...testsApiStubs(),
    ...overrides,
  } satisfies CiExperienceApi;
}

/** Opens a run page (or `path`) in the portal, as a pasted link would. */
function render(
  api: CiExperienceApi,
  options: {
    path?: string;
    permission?: AuthorizeResult.ALLOW | AuthorizeResult.DENY;
  } = {},
) {
  return renderCiTab({
    api,
    path: options.path ?? `${TAB}/runs/run-1`,
    permission: options.permission,
  });
}

describe('CiRunPage', () => {
  it('opens from a pasted link and shows the summary, failure and attempts', async () => {
    const api = fakeApi();
    render(api);

    expect(
      await screen.findByRole('heading', { name: 'CI #562' }),
    ).toBeInTheDocument();
    expect(api.getRun).toHaveBeenCalledWith('run-1');
    expect(api.getRuns).not.toHaveBeenCalled();

    expect(screen.getByLabelText('Trigger')).toHaveTextContent('Push');
    expect(screen.getByLabelText('Commit')).toHaveTextContent('0123456');
    expect(screen.getByLabelText('Commit')).toHaveTextContent(
      'Fix the rounding of refunds',
    );
    expect(screen.getByLabelText('Branch')).toHaveTextContent('main');
    expect(screen.getByLabelText('Actor')).toHaveTextContent('octocat');
    expect(screen.getByLabelText('Queued for')).toHaveTextContent('1m 0s');
    expect(screen.getByLabelText('Duration')).toHaveTextContent('9m 0s');
    expect(
      within(screen.getByLabelText('Provider')).getByRole('link', {
        name: /GitHub Actions: octo-org\/payments/,
      }),
    ).toHaveAttribute(
      'href',
      'https://github.com/octo-org/payments/actions/runs/1',
    );

    // Attempts: comparable, the other one a click away.
    expect(screen.getByTestId('attempts-summary')).toHaveTextContent(
      'Attempt 1 failed, attempt 2 passed.',
    );
    const attempts = screen.getByRole('table', { name: 'Attempts' });
    expect(within(attempts).getByText('Attempt 1 (shown)')).toBeInTheDocument();
    expect(
      within(attempts).getByRole('link', { name: 'Attempt 2' }),
    ).toHaveAttribute('href', `${TAB}/runs/run-1b`);

    expect(screen.getByRole('link', { name: '← All runs' })).toHaveAttribute(
      'href',
      TAB,
    );
  });

  it("shows each failed job's class with its How to fix guide and the matched line", async () => {
    render(fakeApi());
    const job = await screen.findByRole('listitem', { name: 'unit-tests' });
    const howToFix = within(job).getByRole('link', {
      name: 'How to fix: Failing tests',
    });
    expect(howToFix).toHaveAttribute(
      'href',
      '/docs/default/component/ci-experience/troubleshooting/failing-tests/',
    );
    expect(within(job).getByTestId('failure-line')).toHaveTextContent(
      'FAIL src/refunds.test.ts › rounds refunds to the cent',
    );
    // Jobs that passed carry no failure.
    expect(
      within(screen.getByRole('listitem', { name: 'build' })).queryByRole(
        'link',
        { name: /How to fix/ },
      ),
    ).not.toBeInTheDocument();
  });

  it('says so for an unknown failure and links to the guide on adding rules', async () => {
    const unknown = { id: 'unknown', title: 'Unknown failure' };
    const detail = makeRunDetail();
    render(
      fakeApi({
        getRun: jest.fn(async () => ({
          ...detail,
          failure: unknown,
          jobs: detail.jobs.map(job =>
            job.failure ? { ...job, failure: unknown } : job,
          ),
        })),
      }),
    );
    const job = await screen.findByRole('listitem', { name: 'unit-tests' });
    expect(within(job).getByText('Unknown failure')).toBeInTheDocument();
    expect(within(job).getByText(/No triage rule matched/)).toBeInTheDocument();
    expect(
      within(job).getByRole('link', {
        name: 'How to add a triage rule for this failure',
      }),
    ).toHaveAttribute(
      'href',
      '/docs/default/component/ci-experience/troubleshooting/adding-rules/',
    );
  });

  it('puts the jobs on a timeline with the critical path, estimated from times without a job graph', async () => {
    render(fakeApi());
    const path = await screen.findByTestId('critical-path');
    expect(path).toHaveTextContent(
      'Critical path, estimated from job times: build → unit-tests, 9m 0s of the 9m 0s',
    );
    expect(path).toHaveAttribute('data-basis', 'estimated');
    expect(
      screen.getByRole('img', {
        name: /^build: Succeeded, 4m 0s, from 0s to 4m 0s, on the estimated critical path/,
      }),
    ).toBeInTheDocument();
    expect(
      screen.getByRole('img', {
        name: /^unit-tests: Failed, 5m 0s, from 4m 0s to 9m 0s, on the estimated critical path/,
      }),
    ).toBeInTheDocument();
    const lint = screen.getByRole('img', { name: /^lint:/ });
    expect(lint.getAttribute('aria-label')).not.toMatch(/critical path/);
    // A job that never ran has no bar.
    expect(
      within(screen.getByRole('listitem', { name: 'deploy' })).getByText(
        'Not started',
      ),
    ).toBeInTheDocument();
  });

  it('says when a failure is not classified yet, and outlines no chain of one job', async () => {
    const detail = makeRunDetail();
    const [, , failed] = detail.jobs;
    render(
      fakeApi({
        getRun: jest.fn(async () => ({
          ...detail,
          failure: undefined,
          jobs: [{ ...failed, failure: undefined }],
        })),
      }),
    );
    expect(
      await screen.findByText(
        /1 job failed, and the failure has not been classified yet/,
      ),
    ).toBeInTheDocument();
    expect(
      within(screen.getByRole('listitem', { name: 'unit-tests' })).queryByRole(
        'link',
        { name: /How to fix/ },
      ),
    ).toBeNull();
    expect(screen.queryByTestId('critical-path')).not.toBeInTheDocument();
    expect(
      screen.getByRole('img', { name: /^unit-tests: Failed, 5m 0s/ }),
    ).not.toHaveAccessibleName(/critical path/);
  });

  it("follows the provider's job graph, and shows groups, job kinds and queue times", async () => {
    const base = makeRunDetail();
    const job = (
      id: string,
      from: number | undefined,
      to: number | undefined,
      extra: Partial<CiJob> = {},
    ): CiJob => ({
      id,
      name: id,
      status: 'succeeded',
      providerStatus: 'passed',
      ...(from !== undefined ? { startedAt: atMinute(from) } : {}),
      ...(to !== undefined ? { finishedAt: atMinute(to) } : {}),
      ...extra,
    });
    render(
      fakeApi({
        getRun: jest.fn(async () => ({
          ...base,
          status: 'running' as const,
          finishedAt: undefined,
          durationMs: undefined,
          failure: undefined,
          jobs: [
            job('build', 0, 3, { group: 'Build', needs: [], queuedMs: 30_000 }),
            // Ran alone; times alone would chain it before package.
            job('docs', 0, 6, { group: 'Build', needs: [] }),
            job('package', 7, 11, { group: 'Release', needs: ['build'] }),
            job('wait', 11, 11, { kind: 'wait', needs: ['package', 'docs'] }),
            job('deploy-staging', 11, 12, {
              group: 'Release',
              kind: 'trigger',
              needs: ['wait'],
            }),
            job('approve', undefined, undefined, {
              group: 'Release',
              kind: 'manual',
              status: 'queued',
              providerStatus: 'blocked',
              needs: ['deploy-staging'],
            }),
            // A finished GitLab pipeline keeps a manual job playable; one
            // that was skipped for good is just not started.
            job('play-prod', undefined, undefined, {
              kind: 'manual',
              status: 'skipped',
              providerStatus: 'manual',
            }),
            job('old-manual', undefined, undefined, {
              kind: 'manual',
              status: 'skipped',
              providerStatus: 'skipped',
            }),
          ],
        })),
      }),
    );
    const path = await screen.findByTestId('critical-path');
    expect(path).toHaveAttribute('data-basis', 'graph');
    expect(path).toHaveTextContent(
      'Critical path, from the job graph: build → package → wait → deploy-staging, 8m 0s of the 12m 0s',
    );
    expect(
      screen.getByRole('img', { name: /^package: .*, on the critical path$/ }),
    ).toBeInTheDocument();
    expect(
      screen.getByRole('img', { name: /^docs:/ }).getAttribute('aria-label'),
    ).not.toMatch(/critical path/);

    // Jobs under their group, in the order the groups first appear.
    const build = screen.getByRole('group', { name: 'Group Build' });
    expect(
      within(build)
        .getAllByRole('listitem')
        .map(item => item.getAttribute('aria-label')),
    ).toEqual(['build', 'docs']);
    const release = screen.getByRole('group', { name: 'Group Release' });
    expect(
      within(release)
        .getAllByRole('listitem')
        .map(item => item.getAttribute('aria-label')),
    ).toEqual(['package', 'deploy-staging', 'approve']);
    expect(
      within(screen.getByRole('group', { name: 'Group Other jobs' }))
        .getAllByRole('listitem')
        .map(item => item.getAttribute('aria-label')),
    ).toEqual(['wait', 'play-prod', 'old-manual']);

    // Kinds: a person's step, a wait step, a trigger.
    const approve = screen.getByRole('listitem', { name: 'approve' });
    expect(within(approve).getByTestId('job-kind-manual')).toHaveTextContent(
      'manual',
    );
    expect(
      within(approve).getByText('Waiting for a person to start it'),
    ).toBeInTheDocument();
    expect(
      within(screen.getByRole('listitem', { name: 'play-prod' })).getByText(
        'Waiting for a person to start it',
      ),
    ).toBeInTheDocument();
    expect(
      within(screen.getByRole('listitem', { name: 'old-manual' })).getByText(
        'Not started (manual)',
      ),
    ).toBeInTheDocument();
    expect(
      within(screen.getByRole('listitem', { name: 'wait' })).getByTestId(
        'job-kind-wait',
      ),
    ).toBeInTheDocument();
    expect(
      within(
        screen.getByRole('listitem', { name: 'deploy-staging' }),
      ).getByTestId('job-kind-trigger'),
    ).toHaveTextContent('trigger');
    expect(
      within(screen.getByRole('listitem', { name: 'build' })).queryByTestId(
        /^job-kind-/,
      ),
    ).toBeNull();

    // Queue time where the provider gives it.
    expect(
      within(screen.getByRole('listitem', { name: 'build' })).getByTestId(
        'job-queued',
      ),
    ).toHaveTextContent('queued 30s');
    expect(
      screen.getByRole('img', { name: /^build: .*, queued 30s, on the/ }),
    ).toBeInTheDocument();
    expect(
      within(screen.getByRole('listitem', { name: 'docs' })).queryByTestId(
        'job-queued',
      ),
    ).toBeNull();
  });

  it('loads a job log only when the job is expanded, with steps and the truncated notice', async () => {
    const api = fakeApi({
      getJobLog: jest.fn(async () => ({
        text: 'Run tests\nFAIL src/refunds.test.ts\nDone',
        truncated: true,
        totalBytes: 3 * 1024 * 1024,
        url: 'https://github.com/octo-org/payments/actions/runs/1/job/103/logs',
      })),
    });
    render(api);
    const job = await screen.findByRole('listitem', { name: 'unit-tests' });
    expect(api.getJobLog).not.toHaveBeenCalled();

    const toggle = within(job).getByRole('button', { name: /unit-tests/ });
    expect(toggle).toHaveAttribute('aria-expanded', 'false');
    fireEvent.click(toggle);
    expect(toggle).toHaveAttribute('aria-expanded', 'true');
    await waitFor(() =>
      expect(api.getJobLog).toHaveBeenCalledWith('run-1', '103'),
    );
    expect(api.getJobLog).toHaveBeenCalledTimes(1);

    expect(within(job).getByText(/Install dependencies/)).toBeInTheDocument();
    expect(
      within(job).getByRole('img', { name: /^Run tests: Failed, 3m 0s/ }),
    ).toBeInTheDocument();

    const notice = await within(job).findByTestId('log-truncated');
    expect(notice).toHaveTextContent(
      'Truncated: only the end of this log is shown (the whole log is 3.0 MiB).',
    );
    expect(
      within(notice).getByRole('link', { name: /Full log at the provider/ }),
    ).toHaveAttribute(
      'href',
      'https://github.com/octo-org/payments/actions/runs/1/job/103/logs',
    );
    expect(within(job).getByTestId('job-log')).toBeInTheDocument();

    fireEvent.click(toggle);
    expect(within(job).queryByTestId('job-log')).not.toBeInTheDocument();
  });

  it('shows the steps a log gave (GitLab sections, Jenkins nodes) once the log is read', async () => {
    const detail = makeRunDetail();
    const withoutSteps = {
      ...detail,
      jobs: detail.jobs.map(job => ({ ...job, steps: undefined })),
    };
    let logRead = false;
    const api = fakeApi({
      // The backend keeps the steps on the job as it serves the log.
      getRun: jest.fn(async () => (logRead ? detail : withoutSteps)),
      getJobLog: jest.fn(async () => {
        logRead = true;
        return {
          text: 'section_start:1:install\r\x1b[0K...',
          truncated: false,
        };
      }),
    });
    render(api);
    const job = await screen.findByRole('listitem', { name: 'unit-tests' });
    expect(api.getRun).toHaveBeenCalledTimes(1);
    fireEvent.click(within(job).getByRole('button', { name: /unit-tests/ }));
    expect(within(job).queryAllByTestId('job-step')).toHaveLength(0);
    await waitFor(() =>
      expect(
        within(screen.getByRole('listitem', { name: 'unit-tests' }))
          .getAllByTestId('job-step')
          .map(step => step.textContent),
      ).toEqual([
        expect.stringMatching(/^1\. Install dependencies/),
        expect.stringMatching(/^2\. Run tests/),
      ]),
    );
    // Re-read once, not on every render.
    expect(api.getRun).toHaveBeenCalledTimes(2);
    expect(api.getJobLog).toHaveBeenCalledTimes(1);
  });

  it('re-reads a run a webhook finished until a sync has read its jobs, and says so meanwhile', async () => {
    const detail = makeRunDetail();
    // As a delivery left it: the run finished, one job without steps.
    const pending = {
      ...detail,
      jobsPending: true,
      jobs: detail.jobs.slice(0, 1).map(job => ({ ...job, steps: undefined })),
    };
    let reads = 0;
    const api = fakeApi({
      getRun: jest.fn(async () => (++reads < 2 ? pending : detail)),
    });
    render(api);
    expect(await screen.findByTestId('jobs-pending')).toHaveTextContent(
      /complete job list and the jobs' steps arrive with the next sync/,
    );
    // Re-read on the run page's poll interval, until the list is read.
    await waitFor(
      () => expect(screen.queryByTestId('jobs-pending')).toBeNull(),
      { timeout: 3 * RUN_POLL_INTERVAL_MS },
    );
    const job = screen.getByRole('listitem', { name: 'unit-tests' });
    fireEvent.click(within(job).getByRole('button', { name: /unit-tests/ }));
    expect(
      (await within(job).findAllByTestId('job-step')).length,
    ).toBeGreaterThan(0);
    // Read: the polling stops.
    const calls = (api.getRun as jest.Mock).mock.calls.length;
    await new Promise(resolve =>
      setTimeout(resolve, RUN_POLL_INTERVAL_MS + 500),
    );
    expect(api.getRun).toHaveBeenCalledTimes(calls);
  });

  it("shows the API's message when a log cannot be read", async () => {
    const api = fakeApi({
      getJobLog: jest.fn(async () => {
        throw new Error('jenkins has no log for job unit-tests');
      }),
    });
    render(api);
    const job = await screen.findByRole('listitem', { name: 'unit-tests' });
    fireEvent.click(within(job).getByRole('button', { name: /unit-tests/ }));
    expect(
      await within(job).findByText(/jenkins has no log for job unit-tests/),
    ).toBeInTheDocument();
  });

  it('reruns, reruns failed jobs and refreshes the run when allowed', async () => {
    const api = fakeApi();
    render(api);
    await screen.findByRole('heading', { name: 'CI #562' });
    // A finished run: no cancel.
    expect(
      screen.queryByRole('button', { name: 'Cancel' }),
    ).not.toBeInTheDocument();

    const rerun = screen.getByRole('button', { name: 'Rerun' });
    await waitFor(() => expect(rerun).toBeEnabled());
    const reads = (api.getRun as jest.Mock).mock.calls.length;
    fireEvent.click(rerun);
    await waitFor(() =>
      expect(api.rerunRun).toHaveBeenCalledWith(
        { kind: 'Component', namespace: 'default', name: 'payments' },
        'run-1',
        { failedOnly: false },
      ),
    );
    expect(await screen.findByText(/Rerun requested/)).toBeInTheDocument();
    await waitFor(() =>
      expect((api.getRun as jest.Mock).mock.calls.length).toBeGreaterThan(
        reads,
      ),
    );

    fireEvent.click(screen.getByRole('button', { name: 'Rerun failed jobs' }));
    await waitFor(() =>
      expect(api.rerunRun).toHaveBeenLastCalledWith(
        expect.anything(),
        'run-1',
        { failedOnly: true },
      ),
    );
  });

  it('asks before cancelling a running run, and shows the API error', async () => {
    const api = fakeApi({
      getRun: jest.fn(async () =>
        makeRunDetail({
          status: 'running',
          finishedAt: undefined,
          durationMs: undefined,
        }),
      ),
      cancelRun: jest.fn(async () => {
        throw new Error(
          'You may not cancel runs of component:default/payments',
        );
      }),
    });
    render(api);
    await screen.findByRole('heading', { name: 'CI #562' });
    expect(
      screen.queryByRole('button', { name: 'Rerun' }),
    ).not.toBeInTheDocument();

    const cancel = screen.getByRole('button', { name: 'Cancel' });
    await waitFor(() => expect(cancel).toBeEnabled());
    fireEvent.click(cancel);
    const dialog = await screen.findByRole('dialog');
    expect(within(dialog).getByText('Cancel CI #562?')).toBeInTheDocument();
    fireEvent.click(
      within(dialog).getByRole('button', { name: 'Keep running' }),
    );
    await waitFor(() =>
      expect(screen.queryByRole('dialog')).not.toBeInTheDocument(),
    );
    expect(api.cancelRun).not.toHaveBeenCalled();

    fireEvent.click(screen.getByRole('button', { name: 'Cancel' }));
    fireEvent.click(
      within(await screen.findByRole('dialog')).getByRole('button', {
        name: 'Cancel run',
      }),
    );
    expect(
      await screen.findByText(
        'Cancel failed: You may not cancel runs of component:default/payments',
      ),
    ).toBeInTheDocument();
    expect(api.cancelRun).toHaveBeenCalledWith(
      { kind: 'Component', namespace: 'default', name: 'payments' },
      'run-1',
    );
  });

  it('disables the actions when the permission is denied', async () => {
    const api = fakeApi();
    // usePermission caches decisions per entity ref for a moment, across
    // renders: another entity than the other tests', so that no earlier
    // "allow" answers for it.
    const entity = {
      ...annotatedEntity,
      metadata: { ...annotatedEntity.metadata, name: 'refunds' },
    };
    renderCiTab({
      api,
      entity,
      path: '/catalog/default/component/refunds/ci/runs/run-1',
      permission: AuthorizeResult.DENY,
    });
    await screen.findByRole('heading', { name: 'CI #562' });
    expect(
      await screen.findByText(
        /You do not have permission to rerun or cancel runs of refunds/,
      ),
    ).toBeInTheDocument();
    for (const name of ['Rerun', 'Rerun failed jobs']) {
      const button = screen.getByRole('button', { name });
      expect(button).toBeDisabled();
      fireEvent.click(button);
    }
    expect(api.rerunRun).not.toHaveBeenCalled();
  });

  it("names the rerun buttons in the provider's words where it gives them", async () => {
    const api = fakeApi({
      getRun: jest.fn(async () =>
        makeRunDetail({
          actions: {
            rerun: true,
            rerunFailed: true,
            rerunLabel: "Build the branch's head again",
            rerunFailedLabel: 'Retry the failed jobs',
            cancel: false,
            logs: true,
          },
        }),
      ),
    });
    render(api);
    await screen.findByRole('heading', { name: 'CI #562' });
    expect(
      screen.queryByRole('button', { name: 'Rerun' }),
    ).not.toBeInTheDocument();
    expect(
      screen.getByRole('button', { name: 'Retry the failed jobs' }),
    ).toBeInTheDocument();
    const rerun = screen.getByRole('button', {
      name: "Build the branch's head again",
    });
    await waitFor(() => expect(rerun).toBeEnabled());
    fireEvent.click(rerun);
    await waitFor(() =>
      expect(api.rerunRun).toHaveBeenCalledWith(expect.anything(), 'run-1', {
        failedOnly: false,
      }),
    );
  });

  it('offers only what the provider can do', async () => {
    render(
      fakeApi({
        getRun: jest.fn(async () =>
          makeRunDetail({
            actions: {
              rerun: true,
              rerunFailed: false,
              cancel: false,
              logs: false,
            },
          }),
        ),
      }),
    );
    await screen.findByRole('heading', { name: 'CI #562' });
    expect(screen.getByRole('button', { name: 'Rerun' })).toBeInTheDocument();
    expect(
      screen.queryByRole('button', { name: 'Rerun failed jobs' }),
    ).not.toBeInTheDocument();

    // No logs through the portal: say so, and point at the provider.
    const job = screen.getByRole('listitem', { name: 'unit-tests' });
    fireEvent.click(within(job).getByRole('button', { name: /unit-tests/ }));
    expect(
      await within(job).findByText(/logs cannot be read through the portal/),
    ).toBeInTheDocument();
  });

  it('switches to another attempt through its link', async () => {
    const api = fakeApi();
    render(api);
    const attempts = await screen.findByRole('table', { name: 'Attempts' });
    fireEvent.click(within(attempts).getByRole('link', { name: 'Attempt 2' }));
    await waitFor(() => expect(api.getRun).toHaveBeenLastCalledWith('run-1b'));
    expect(
      await screen.findByRole('heading', { name: 'CI #562 · attempt 2' }),
    ).toBeInTheDocument();
  });

  it('links each run of the runs list to its page, and back', async () => {
    const api = fakeApi();
    render(api, { path: TAB });
    const link = await screen.findByRole('link', {
      name: 'CI #562: jobs and logs',
    });
    expect(link).toHaveAttribute('href', `${TAB}/runs/run-1`);
    // The table re-renders its rows as the tab settles (filters learn the
    // default branches), replacing the node found: click the current one.
    await waitFor(() => {
      const current = screen.queryByRole('link', {
        name: 'CI #562: jobs and logs',
      });
      if (current) {
        fireEvent.click(current);
      }
      expect(
        screen.getByRole('heading', { name: 'CI #562' }),
      ).toBeInTheDocument();
    });
    expect(api.getRun).toHaveBeenCalledWith('run-1');

    fireEvent.click(screen.getByRole('link', { name: '← All runs' }));
    expect(await screen.findByRole('table')).toBeInTheDocument();
  });

  it('shows the error of a run that cannot be loaded', async () => {
    render(
      fakeApi({
        getRun: jest.fn(async () => {
          throw new Error('No run nope');
        }),
      }),
      { path: `${TAB}/runs/nope` },
    );
    expect((await screen.findAllByText(/No run nope/)).length).toBeGreaterThan(
      0,
    );
    expect(
      screen.getByRole('link', { name: '← All runs' }),
    ).toBeInTheDocument();
  });
});
