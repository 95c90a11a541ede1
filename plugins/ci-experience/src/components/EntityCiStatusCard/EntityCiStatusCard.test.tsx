import { Entity } from '@backstage/catalog-model';
import { renderInTestApp } from '@backstage/frontend-test-utils';
import { EntityProvider } from '@backstage/plugin-catalog-react';
import { screen } from '@testing-library/react';
import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import {
  CiExperienceApi,
  ciExperienceApiRef,
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
} from '../../testing/fixtures';
import { EntityCiStatusCard } from './EntityCiStatusCard';

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
      <EntityCiStatusCard />
    </EntityProvider>,
    { apis: [[ciExperienceApiRef, api]] },
  );
}

describe('EntityCiStatusCard', () => {
  it('lists the latest run of each workflow on the default branch', async () => {
    const api = fakeApi(async (_ref, query) =>
      makeResponse({
        items:
          query.branchScope === 'default'
            ? [
                makeRun({
                  id: 'a',
                  workflow: 'CI',
                  runNumber: 12,
                  status: 'failed',
                }),
                makeRun({ id: 'b', workflow: 'Deploy', runNumber: 5 }),
                // Older run of CI: hidden behind the newer one.
                makeRun({ id: 'c', workflow: 'CI', runNumber: 11 }),
              ]
            : [makeRun({ id: 'x', workflow: 'Lint', branch: 'feature/y' })],
      }),
    );
    render(api);

    await screen.findByText('#12');
    expect(screen.getByText('#5')).toBeInTheDocument();
    expect(screen.queryByText('#11')).not.toBeInTheDocument();
    expect(screen.queryByText(/Lint/)).not.toBeInTheDocument();
    expect(screen.getByText('Failed')).toBeInTheDocument();
    expect(screen.getByRole('link', { name: /#12/ })).toHaveAttribute(
      'href',
      'https://github.com/octo-org/payments/actions/runs/1',
    );
    expect(screen.getAllByText(/main · 9 minutes ago/)).toHaveLength(2);

    // One call: each source's runs on its own default branch.
    expect(api.getRuns).toHaveBeenCalledTimes(1);
    expect(api.getRuns).toHaveBeenLastCalledWith(
      { kind: 'Component', namespace: 'default', name: 'payments' },
      { branchScope: 'default', limit: 100 },
    );
  });

  it("asks the backend for each source's own default branch (the query sent)", async () => {
    const server = setupServer(
      http.get(
        `${BASE}/entities/:kind/:namespace/:name/runs`,
        ({ request }) => {
          const url = new URL(request.url);
          // Only the default-branch listing is answered with runs.
          if (
            url.searchParams.get('branchScope') !== 'default' ||
            url.searchParams.has('branch')
          ) {
            return HttpResponse.json(makeResponse());
          }
          return HttpResponse.json(
            makeResponse({
              items: [
                makeRun({ id: 'gh', workflow: 'CI', runNumber: 12 }),
                makeRun({
                  id: 'gl',
                  provider: 'gitlab',
                  source: 'group/payments',
                  workflow: 'CI',
                  runNumber: 7,
                  branch: 'develop',
                  status: 'failed',
                }),
              ],
              sources: [
                makeSource(),
                makeSource({
                  provider: 'gitlab',
                  source: 'group/payments',
                  defaultBranch: 'develop',
                }),
              ],
            }),
          );
        },
      ),
    );
    server.listen({ onUnhandledRequest: 'error' });
    try {
      render(
        new CiExperienceClient({
          discoveryApi: { getBaseUrl: async () => BASE },
          fetchApi: { fetch: (...args) => fetch(...args) },
        }),
      );
      // The same workflow name at two sources: both are listed, each on its
      // own default branch, each with its provider's mark.
      expect(await screen.findByText('#12')).toBeInTheDocument();
      expect(screen.getByText('#7')).toBeInTheDocument();
      expect(screen.getByText(/^main · /)).toBeInTheDocument();
      expect(screen.getByText(/^develop · /)).toBeInTheDocument();
      expect(
        screen.getByRole('img', { name: 'GitLab CI' }),
      ).toBeInTheDocument();
      expect(
        screen.getByRole('img', { name: 'GitHub Actions' }),
      ).toBeInTheDocument();
    } finally {
      server.close();
    }
  });

  it('shows any branch when no source knows its default branch, and names sources left out', async () => {
    const jenkinsOnly = makeSource({
      provider: 'jenkins',
      source: 'team/deploys',
      defaultBranch: undefined,
    });
    const api = fakeApi(async (_ref, query) =>
      query.branchScope === 'default'
        ? makeResponse({ sources: [jenkinsOnly] })
        : makeResponse({
            items: [
              makeRun({
                provider: 'jenkins',
                source: 'team/deploys',
                workflow: 'team/deploys/release',
                workflowLabel: 'Release',
                runNumber: 41,
                branch: undefined,
              }),
            ],
            sources: [jenkinsOnly],
          }),
    );
    render(api);
    expect(await screen.findByText('#41')).toBeInTheDocument();
    // The short name, the full path on hover.
    expect(screen.getByText('Release')).toHaveAttribute(
      'title',
      'team/deploys/release',
    );
    expect(
      screen.getByText(/No source names a default branch/),
    ).toBeInTheDocument();
    expect(api.getRuns).toHaveBeenNthCalledWith(2, expect.anything(), {
      limit: 100,
    });

    // Beside a source that knows its default branch: the other is named.
    const mixed = fakeApi(async () =>
      makeResponse({
        items: [makeRun({ runNumber: 5 })],
        sources: [makeSource(), jenkinsOnly],
      }),
    );
    render(mixed, {
      ...annotatedEntity,
      metadata: { ...annotatedEntity.metadata, name: 'other' },
    });
    expect(await screen.findByText('#5')).toBeInTheDocument();
    expect(
      screen.getByText(
        /Not shown: Jenkins team\/deploys, whose default branch is not known/,
      ),
    ).toBeInTheDocument();
    expect(mixed.getRuns).toHaveBeenCalledTimes(1);
  });

  it('shows the missing annotation state without a CI annotation', async () => {
    const api = fakeApi(async () => makeResponse());
    render(api, plainEntity);

    expect(await screen.findByText('CI status')).toBeInTheDocument();
    expect(screen.getByText(/github\.com\/project-slug/)).toBeInTheDocument();
    expect(api.getRuns).not.toHaveBeenCalled();
  });

  it('shows the first sync under way', async () => {
    const api = fakeApi(async () =>
      makeResponse({
        sources: [makeSource({ syncing: true, defaultBranch: undefined })],
      }),
    );
    render(api);

    expect(
      await screen.findByText(/First sync of octo-org\/payments under way…/),
    ).toBeInTheDocument();
  });

  it('shows a sync error and says why there is nothing to list', async () => {
    const api = fakeApi(async () =>
      makeResponse({
        sources: [
          makeSource({
            error: { name: 'NotAllowedError', message: 'Bad credentials' },
          }),
        ],
      }),
    );
    render(api);

    expect(await screen.findByText('Bad credentials')).toBeInTheDocument();
    expect(screen.getByText(/could not be synced/)).toBeInTheDocument();
    expect(
      screen.getByText('No runs on the default branch main yet.'),
    ).toBeInTheDocument();
  });
});
