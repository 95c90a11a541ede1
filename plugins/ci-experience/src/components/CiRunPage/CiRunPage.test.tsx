import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { fireEvent, screen, waitFor, within } from '@testing-library/react';
import { CiExperienceApi } from '../../api';
import {
  annotatedEntity,
  makeResponse,
  makeRun,
  makeRunDetail,
  alertsApiStubs,
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

  it('puts the jobs on a timeline with the longest chain outlined', async () => {
    render(fakeApi());
    expect(await screen.findByTestId('critical-path')).toHaveTextContent(
      'Longest chain of jobs: build → unit-tests, 9m 0s of the 9m 0s',
    );
    expect(
      screen.getByRole('img', {
        name: /^build: Succeeded, 4m 0s, from 0s to 4m 0s, on the longest chain/,
      }),
    ).toBeInTheDocument();
    expect(
      screen.getByRole('img', {
        name: /^unit-tests: Failed, 5m 0s, from 4m 0s to 9m 0s, on the longest chain/,
      }),
    ).toBeInTheDocument();
    const lint = screen.getByRole('img', { name: /^lint:/ });
    expect(lint.getAttribute('aria-label')).not.toMatch(/longest chain/);
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
    ).not.toHaveAccessibleName(/longest chain/);
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
    fireEvent.click(link);
    expect(
      await screen.findByRole('heading', { name: 'CI #562' }),
    ).toBeInTheDocument();
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
