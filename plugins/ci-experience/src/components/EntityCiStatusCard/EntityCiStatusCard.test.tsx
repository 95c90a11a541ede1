import { Entity } from '@backstage/catalog-model';
import { renderInTestApp } from '@backstage/frontend-test-utils';
import { EntityProvider } from '@backstage/plugin-catalog-react';
import { screen } from '@testing-library/react';
import { CiExperienceApi, ciExperienceApiRef } from '../../api';
import {
  annotatedEntity,
  makeResponse,
  makeRun,
  makeSource,
  plainEntity,
  alertsApiStubs,
  insightsApiStubs,
} from '../../testing/fixtures';
import { EntityCiStatusCard } from './EntityCiStatusCard';

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
        items: query.branch
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

    expect(api.getRuns).toHaveBeenCalledTimes(2);
    expect(api.getRuns).toHaveBeenLastCalledWith(
      { kind: 'Component', namespace: 'default', name: 'payments' },
      { branch: 'main', limit: 100 },
    );
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
