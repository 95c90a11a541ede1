import { EntityProvider } from '@backstage/plugin-catalog-react';
import { renderInTestApp } from '@backstage/frontend-test-utils';
import { fireEvent, screen, waitFor, within } from '@testing-library/react';
import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import {
  ciExperienceApiRef,
  CiExperienceApi,
  CiExperienceClient,
} from '../../api';
import {
  annotatedEntity,
  makeResponse,
  makeRun,
  makeSource,
  plainEntity,
  alertsApiStubs,
  testsApiStubs,
  insightsApiStubs,
  makeInsights,
} from '../../testing/fixtures';
import { EntityCiContent } from './EntityCiContent';
import { Entity } from '@backstage/catalog-model';

const BASE = 'http://localhost:7007/api/ci-experience';

// Rendering the full table is slow on a loaded 2-core machine; this is no speed target.
jest.setTimeout(30_000);

function fakeApi(getRuns: CiExperienceApi['getRuns']) {
  return {
    getRuns: jest.fn(getRuns),
    getRun: jest.fn(),
    getJobLog: jest.fn(),
    rerunRun: jest.fn(),
    cancelRun: jest.fn(),
    ...insightsApiStubs(),
    ...alertsApiStubs(),
    ...testsApiStubs(),
  } satisfies CiExperienceApi;
}

function render(api: CiExperienceApi, entity: Entity = annotatedEntity) {
  return renderInTestApp(
    <EntityProvider entity={entity}>
      <EntityCiContent />
    </EntityProvider>,
    { apis: [[ciExperienceApiRef, api]] },
  );
}

describe('EntityCiContent', () => {
  it("asks for each source's default branch and renders its runs", async () => {
    const api = fakeApi(async (_ref, query) =>
      makeResponse({
        items:
          query.branchScope === 'default'
            ? [
                makeRun({ attempt: 2, status: 'failed', workflow: 'Deploy' }),
                makeRun({ id: 'run-2', runNumber: 561 }),
              ]
            : [makeRun({ id: 'run-3', branch: 'feature/x', runNumber: 9 })],
      }),
    );
    render(api);

    // findBy* throws when the text never appears. The table re-renders its
    // rows, so the found node itself may be replaced right after.
    await screen.findByText('#562 · attempt 2');
    expect(screen.getByText('#561')).toBeInTheDocument();
    const table = screen.getByRole('table');
    expect(within(table).getByText('Failed')).toBeInTheDocument();
    expect(within(table).getByText('Deploy')).toBeInTheDocument();
    expect(screen.getAllByText('0123456')).toHaveLength(2);
    expect(screen.getAllByText('Fix the rounding of refunds')).toHaveLength(2);
    expect(screen.getAllByText('3m 12s')).toHaveLength(2);
    expect(screen.getAllByText('9 minutes ago')).toHaveLength(2);
    expect(
      screen.getAllByRole('link', {
        name: /Deploy #562 · attempt 2 on GitHub Actions/,
      })[0],
    ).toHaveAttribute(
      'href',
      'https://github.com/octo-org/payments/actions/runs/1',
    );
    // One call, for the default branches: no unfiltered answer first.
    expect(screen.queryByText('#9')).not.toBeInTheDocument();
    expect(api.getRuns).toHaveBeenCalledTimes(1);
    expect(api.getRuns).toHaveBeenLastCalledWith(
      { kind: 'Component', namespace: 'default', name: 'payments' },
      { branchScope: 'default', limit: 25 },
    );
    const branch = screen.getByLabelText('Branch') as HTMLSelectElement;
    expect(branch.selectedOptions[0].textContent).toBe('Default branch (main)');
    expect(screen.getByText(/synced 2 minutes ago/)).toBeInTheDocument();
  });

  it("lists each source's runs on its own default branch, and a chosen branch still works (the query sent)", async () => {
    const queries: string[] = [];
    const server = setupServer(
      http.get(
        `${BASE}/entities/:kind/:namespace/:name/runs`,
        ({ request }) => {
          const url = new URL(request.url);
          queries.push(url.search);
          const sources = [
            makeSource(),
            makeSource({
              provider: 'gitlab',
              source: 'group/payments',
              defaultBranch: 'develop',
            }),
          ];
          const github = makeRun({ id: 'gh', runNumber: 12 });
          const gitlab = makeRun({
            id: 'gl',
            provider: 'gitlab',
            source: 'group/payments',
            runNumber: 7,
            branch: 'develop',
          });
          const feature = makeRun({
            id: 'f',
            runNumber: 3,
            branch: 'feature/x',
          });
          let items = [github, gitlab, feature];
          if (url.searchParams.get('branchScope') === 'default') {
            items = [github, gitlab];
          } else if (url.searchParams.has('branch')) {
            items = items.filter(
              r => r.branch === url.searchParams.get('branch'),
            );
          }
          return HttpResponse.json(makeResponse({ items, sources }));
        },
      ),
    );
    server.listen({ onUnhandledRequest: 'bypass' });
    try {
      render({
        ...fakeApi(async () => makeResponse()),
        getRuns: (ref, query) =>
          new CiExperienceClient({
            discoveryApi: { getBaseUrl: async () => BASE },
            fetchApi: { fetch: (...args) => fetch(...args) },
          }).getRuns(ref, query),
      });
      const table = await screen.findByRole('table');
      await within(table).findByText('#12');
      expect(within(table).getByText('#7')).toBeInTheDocument();
      expect(within(table).queryByText('#3')).not.toBeInTheDocument();
      expect(queries).toEqual(['?branchScope=default&limit=25']);

      const select = screen.getByLabelText('Branch') as HTMLSelectElement;
      expect(select.selectedOptions[0].textContent).toBe(
        'Default branches (develop, main)',
      );
      // Each default branch is offered on its own too, marked.
      const options = Array.from(select.options).map(o => o.textContent);
      expect(options.slice(0, 3)).toEqual([
        'Default branches (develop, main)',
        'develop (default)',
        'main (default)',
      ]);

      fireEvent.change(select, { target: { value: 'develop' } });
      await waitFor(() =>
        expect(queries[queries.length - 1]).toBe('?branch=develop&limit=25'),
      );
      await waitFor(() =>
        expect(within(screen.getByRole('table')).queryByText('#12')).toBeNull(),
      );
      expect(within(screen.getByRole('table')).getByText('#7')).toBeVisible();

      fireEvent.change(select, {
        target: {
          value: Array.from(select.options).find(o =>
            o.textContent?.startsWith('Default branches'),
          )!.value,
        },
      });
      await waitFor(() =>
        expect(queries[queries.length - 1]).toBe(
          '?branchScope=default&limit=25',
        ),
      );
    } finally {
      server.close();
    }
  });

  it('shows every branch when no source knows its default branch, and names sources the default view leaves out', async () => {
    const jenkins = makeSource({
      provider: 'jenkins',
      source: 'team/deploys',
      defaultBranch: undefined,
    });
    const api = fakeApi(async (_ref, query) =>
      query.branchScope === 'default'
        ? makeResponse({ sources: [jenkins] })
        : makeResponse({
            items: [makeRun({ provider: 'jenkins', runNumber: 41 })],
            sources: [jenkins],
          }),
    );
    render(api);
    await within(await screen.findByRole('table')).findByText('#41');
    expect(api.getRuns).toHaveBeenLastCalledWith(expect.anything(), {
      limit: 25,
    });
    expect(
      (screen.getByLabelText('Branch') as HTMLSelectElement).selectedOptions[0]
        .textContent,
    ).toBe('All branches');
    expect(screen.queryByTestId('no-default-branch')).toBeNull();

    // Beside a source that knows its own: the default view stays, and says
    // which source it leaves out.
    const mixed = fakeApi(async () =>
      makeResponse({
        items: [makeRun({ runNumber: 5 })],
        sources: [makeSource(), jenkins],
      }),
    );
    render(mixed, {
      ...annotatedEntity,
      metadata: { ...annotatedEntity.metadata, name: 'other' },
    });
    expect(await screen.findByTestId('no-default-branch')).toHaveTextContent(
      'Not shown under the default branches: Jenkins team/deploys, whose default branch is not known. Choose "All branches" to see its runs.',
    );
  });

  it('shows the missing annotation state without a CI annotation', async () => {
    const api = fakeApi(async () => makeResponse());
    render(api, plainEntity);

    expect(
      await screen.findByText(/github\.com\/project-slug/),
    ).toBeInTheDocument();
    expect(screen.getByText(/Missing Annotation/i)).toBeInTheDocument();
    expect(api.getRuns).not.toHaveBeenCalled();
  });

  it("shows the runs of an entity that names a module provider's source, as the backend lists its annotation", async () => {
    const api = {
      ...fakeApi(async () =>
        makeResponse({ items: [makeRun({ runNumber: 41 })] }),
      ),
      getAnnotations: jest.fn(async () => ({
        annotations: ['github.com/project-slug', 'my-ci.example.com/pipeline'],
      })),
    };
    const custom = {
      ...plainEntity,
      metadata: {
        ...plainEntity.metadata,
        annotations: { 'my-ci.example.com/pipeline': 'pipelines/app' },
      },
    };
    render(api, custom);
    expect((await screen.findAllByText(/#41\b/)).length).toBeGreaterThan(0);
    expect(api.getRuns).toHaveBeenCalled();

    // An annotation no provider declares: missing, and no listing asked.
    const other = {
      ...fakeApi(async () => makeResponse()),
      getAnnotations: jest.fn(async () => ({
        annotations: ['github.com/project-slug'],
      })),
    };
    render(other, custom);
    expect(await screen.findAllByText(/Missing Annotation/i)).not.toHaveLength(
      0,
    );
    expect(other.getRuns).not.toHaveBeenCalled();
  });

  it('shows the first sync under way, and polls until runs arrive', async () => {
    let calls = 0;
    const api = fakeApi(async () => {
      calls += 1;
      return calls < 2
        ? makeResponse({
            sources: [
              makeSource({
                syncing: true,
                lastSyncedAt: undefined,
                defaultBranch: undefined,
              }),
            ],
          })
        : makeResponse({
            items: [makeRun({ runNumber: 77 })],
            sources: [makeSource({ defaultBranch: undefined })],
          });
    });
    render(api);

    expect(
      await screen.findByText(/First sync of octo-org\/payments under way…/),
    ).toBeInTheDocument();
    expect(screen.queryByText(/No runs/)).not.toBeInTheDocument();

    await screen.findByText('#77', undefined, { timeout: 6000 });
    expect(screen.queryByText(/First sync/)).not.toBeInTheDocument();
  }, 10_000);

  it("keeps polling while one source's first sync runs though another's runs are in", async () => {
    let calls = 0;
    const api = fakeApi(async () => {
      calls += 1;
      // The first answer: Jenkins' runs are in, GitHub's sync goes on.
      return calls < 2
        ? makeResponse({
            items: [
              makeRun({
                runNumber: 11,
                provider: 'jenkins',
                status: 'succeeded',
              }),
            ],
            sources: [
              makeSource({ syncing: true, lastSyncedAt: undefined }),
              makeSource({ provider: 'jenkins' }),
            ],
          })
        : makeResponse({
            items: [
              makeRun({ runNumber: 12, status: 'succeeded' }),
              makeRun({
                runNumber: 11,
                provider: 'jenkins',
                status: 'succeeded',
              }),
            ],
            sources: [makeSource({}), makeSource({ provider: 'jenkins' })],
          });
    });
    render(api);
    expect(await screen.findByText('#11')).toBeInTheDocument();
    expect(
      await screen.findByText('#12', undefined, { timeout: 6000 }),
    ).toBeInTheDocument();
  }, 10_000);

  it('shows a source error next to the stored runs', async () => {
    const api = fakeApi(async () =>
      makeResponse({
        items: [makeRun()],
        sources: [
          makeSource({
            error: {
              name: 'NotAllowedError',
              message: 'Resource not accessible by integration',
            },
          }),
        ],
      }),
    );
    render(api);

    expect(
      await screen.findByText(
        'Warning: GitHub Actions: octo-org/payments could not be synced',
      ),
    ).toBeInTheDocument();
    expect(
      screen.getByText('Resource not accessible by integration'),
    ).toBeInTheDocument();
    await screen.findByText('#562');
  });

  it('says why the list is empty', async () => {
    const api = fakeApi(async () => makeResponse());
    render(api);

    await waitFor(() =>
      expect(
        screen.getByText(
          /No runs on the default branch main match these filters/,
        ),
      ).toBeInTheDocument(),
    );
    expect(screen.queryByText('No data')).not.toBeInTheDocument();
  });

  it('says when nothing has been ingested yet', async () => {
    const api = fakeApi(async () =>
      makeResponse({
        sources: [
          makeSource({ lastSyncedAt: undefined, defaultBranch: undefined }),
        ],
      }),
    );
    render(api);

    await waitFor(() =>
      expect(
        screen.getByText(/Nothing has been ingested yet/),
      ).toBeInTheDocument(),
    );
    expect(screen.getByText(/never synced/)).toBeInTheDocument();
  });

  it('asks the API again when a filter changes', async () => {
    const api = fakeApi(async () =>
      makeResponse({
        items: [
          makeRun(),
          makeRun({ id: 'r2', branch: 'develop', workflow: 'Nightly' }),
        ],
      }),
    );
    render(api);
    await screen.findAllByText('#562');

    fireEvent.change(screen.getByLabelText('Branch'), {
      target: { value: 'develop' },
    });
    await waitFor(() =>
      expect(api.getRuns).toHaveBeenLastCalledWith(expect.anything(), {
        branch: 'develop',
        limit: 25,
      }),
    );

    fireEvent.change(screen.getByLabelText('Status'), {
      target: { value: 'failed' },
    });
    await waitFor(() =>
      expect(api.getRuns).toHaveBeenLastCalledWith(expect.anything(), {
        branch: 'develop',
        status: ['failed'],
        limit: 25,
      }),
    );

    fireEvent.change(screen.getByLabelText('Branch'), {
      target: { value: '' },
    });
    fireEvent.change(screen.getByLabelText('Workflow'), {
      target: { value: 'Nightly' },
    });
    await waitFor(() =>
      expect(api.getRuns).toHaveBeenLastCalledWith(expect.anything(), {
        status: ['failed'],
        workflow: 'Nightly',
        limit: 25,
      }),
    );
  });

  it("offers the entity's allowed branches from config, and asks for them", async () => {
    const api = fakeApi(async () => ({
      ...makeResponse({
        items: [
          makeRun(),
          makeRun({ id: 'r2', branch: 'release/1.0', runNumber: 9 }),
          makeRun({ id: 'r3', branch: 'dependabot/npm/x', runNumber: 8 }),
        ],
      }),
      allowedBranches: ['main', 'release/*'],
    }));
    render(api);
    await screen.findAllByText('#562');
    const select = screen.getByLabelText('Branch') as HTMLSelectElement;
    const options = Array.from(select.options).map(o => o.textContent);
    // Noise outside the allow-list is not offered; every branch still is,
    // one choice away.
    expect(options).toContain('release/1.0');
    expect(options).not.toContain('dependabot/npm/x');
    expect(options).toContain('Allowed branches (main, release/*)');
    expect(options).toContain('All branches');

    fireEvent.change(select, {
      target: {
        value: Array.from(select.options).find(o =>
          o.textContent?.startsWith('Allowed'),
        )!.value,
      },
    });
    await waitFor(() =>
      expect(api.getRuns).toHaveBeenLastCalledWith(expect.anything(), {
        branchScope: 'allowed',
        limit: 25,
      }),
    );
  });

  it('loads more runs with the cursor and refreshes from the first page', async () => {
    const api = fakeApi(async (_ref, query) =>
      query.cursor
        ? makeResponse({ items: [makeRun({ id: 'r2', runNumber: 500 })] })
        : makeResponse({ items: [makeRun()], nextCursor: 'next-1' }),
    );
    render(api);
    await screen.findByText('#562');

    fireEvent.click(screen.getByRole('button', { name: 'Load more' }));
    expect(await screen.findByText('#500')).toBeInTheDocument();
    expect(screen.getByText('#562')).toBeInTheDocument();
    expect(api.getRuns).toHaveBeenLastCalledWith(expect.anything(), {
      branchScope: 'default',
      limit: 25,
      cursor: 'next-1',
    });
    expect(
      screen.queryByRole('button', { name: 'Load more' }),
    ).not.toBeInTheDocument();

    const callsBefore = api.getRuns.mock.calls.length;
    fireEvent.click(screen.getByRole('button', { name: 'Refresh' }));
    await waitFor(() =>
      expect(screen.queryByText('#500')).not.toBeInTheDocument(),
    );
    expect(api.getRuns.mock.calls.length).toBe(callsBefore + 1);
    expect(api.getRuns).toHaveBeenLastCalledWith(expect.anything(), {
      branchScope: 'default',
      limit: 25,
    });
  });

  it('renders fetch errors', async () => {
    const api = fakeApi(async () => {
      throw new Error('Backend unavailable');
    });
    render(api);

    expect(
      (await screen.findAllByText(/Backend unavailable/)).length,
    ).toBeGreaterThan(0);
    expect(screen.queryByRole('table')).not.toBeInTheDocument();
  });

  it('follows unfinished runs on the first page until they finish', async () => {
    let calls = 0;
    const api = fakeApi(async () => {
      calls += 1;
      // The run finishes on the third read.
      const status = calls >= 3 ? 'succeeded' : 'running';
      return makeResponse({ items: [makeRun({ status })] });
    });
    render(api);
    // The status filter offers the same words: look in the table only.
    await within(await screen.findByRole('table')).findByText('Running');
    await waitFor(
      () =>
        expect(
          within(screen.getByRole('table')).getByText('Succeeded'),
        ).toBeInTheDocument(),
      { timeout: 15_000 },
    );
    expect(calls).toBe(3);
    const settled = api.getRuns.mock.calls.length;
    await new Promise(r => setTimeout(r, 6000));
    expect(api.getRuns.mock.calls.length).toBe(settled);
    // Real timers: this waits for two polls and a quiet period.
  }, 60_000);

  it('offers a provider filter when the entity has several, and says which are not configured', async () => {
    const api = fakeApi(async () =>
      makeResponse({
        items: [makeRun()],
        sources: [
          makeSource(),
          makeSource({
            provider: 'gitlab',
            source: 'group/payments',
            defaultBranch: undefined,
          }),
          {
            provider: 'jenkins',
            source: 'team/payments',
            syncing: false,
            notConfigured:
              'The jenkins provider is not configured in this portal',
          },
        ],
      }),
    );
    render(api);
    await screen.findAllByText('#562');
    expect(
      screen.getByText(/The jenkins provider is not configured/),
    ).toBeInTheDocument();
    fireEvent.change(screen.getByLabelText('Provider'), {
      target: { value: 'gitlab' },
    });
    await waitFor(() =>
      expect(api.getRuns).toHaveBeenLastCalledWith(expect.anything(), {
        branchScope: 'default',
        provider: ['gitlab'],
        limit: 25,
      }),
    );
  });

  it('shows no provider filter for a single provider', async () => {
    render(fakeApi(async () => makeResponse({ items: [makeRun()] })));
    await screen.findAllByText('#562');
    expect(screen.queryByLabelText('Provider')).not.toBeInTheDocument();
  });

  it('shows the failure class of failed runs with a How to fix link, and links each run to its page', async () => {
    const api = fakeApi(async () =>
      makeResponse({
        items: [
          makeRun({
            status: 'failed',
            failure: {
              id: 'out-of-memory',
              title: 'Out of memory',
              category: 'infrastructure',
              guide:
                '/docs/default/component/ci-experience/troubleshooting/out-of-memory/',
              line: 'FATAL ERROR: Reached heap limit',
            },
          }),
          makeRun({
            id: 'run-2',
            runNumber: 561,
            status: 'failed',
            failure: { id: 'unknown', title: 'Unknown failure' },
          }),
          makeRun({ id: 'run-3', runNumber: 560 }),
        ],
      }),
    );
    render(api);
    await screen.findAllByText('#562');
    const table = screen.getByRole('table');
    expect(within(table).getAllByText('Out of memory')[0]).toBeInTheDocument();
    expect(
      within(table).getAllByRole('link', {
        name: 'How to fix: Out of memory',
      })[0],
    ).toHaveAttribute(
      'href',
      '/docs/default/component/ci-experience/troubleshooting/out-of-memory/',
    );
    expect(
      within(table).getAllByText('Unknown failure')[0],
    ).toBeInTheDocument();
    expect(
      within(table).getAllByRole('link', {
        name: 'How to add a triage rule for this failure',
      })[0],
    ).toHaveAttribute(
      'href',
      '/docs/default/component/ci-experience/troubleshooting/adding-rules/',
    );
    // One guide link per failed run, none for the run that passed.
    expect(
      within(table).getAllByRole('link', { name: /How to fix|How to add/ }),
    ).toHaveLength(2);

    // Each run opens its page in the CI tab; the provider link stays.
    expect(
      within(table).getByRole('link', { name: 'CI #561: jobs and logs' }),
    ).toHaveAttribute('href', '/runs/run-2');
    expect(
      within(table).getAllByRole('link', {
        name: /CI #561 on GitHub Actions/,
      })[0],
    ).toHaveAttribute(
      'href',
      'https://github.com/octo-org/payments/actions/runs/1',
    );
  });

  it('shows the health header above the runs, offering the branches seen in them', async () => {
    const api = {
      ...fakeApi(async () =>
        makeResponse({
          items: [
            makeRun(),
            makeRun({ id: 'run-9', branch: 'release/1.2', runNumber: 9 }),
          ],
        }),
      ),
      getInsights: jest.fn(async () => makeInsights()),
    };
    render(api);

    const header = await screen.findByRole('region', { name: 'CI health' });
    await within(header).findByText('90%');
    expect(api.getInsights).toHaveBeenCalledWith(
      { kind: 'Component', namespace: 'default', name: 'payments' },
      { window: '30d', workflow: undefined, branches: undefined },
    );
    // The runs list stays in view below it.
    await screen.findByText('#562');
    expect(
      header.compareDocumentPosition(screen.getByRole('table')) &
        Node.DOCUMENT_POSITION_FOLLOWING,
    ).toBeTruthy();

    fireEvent.mouseDown(within(header).getByLabelText('Branches'));
    const listbox = await screen.findByRole('listbox');
    expect(
      within(listbox)
        .getAllByRole('option')
        .map(option => option.textContent),
    ).toEqual(['main', 'release/1.2']);
  });

  it('keeps the runs when the health header fails', async () => {
    const api = {
      ...fakeApi(async () => makeResponse({ items: [makeRun()] })),
      getInsights: jest.fn(async () => {
        throw new Error('Insights are not available');
      }),
    };
    render(api);

    expect(
      await screen.findByText(
        'Could not load the CI health: Insights are not available',
      ),
    ).toBeInTheDocument();
    expect(await screen.findByText('#562')).toBeInTheDocument();
  });
});
