import { renderInTestApp } from '@backstage/frontend-test-utils';
import { screen } from '@testing-library/react';
import { CiSourcesState, unreachableSince } from './CiSourcesState';

jest.setTimeout(30_000);

describe('CiSourcesState', () => {
  const since = new Date(Date.now() - 7 * 60_000).toISOString();

  it('says clearly since when a provider is unreachable, with what is stored', async () => {
    await renderInTestApp(
      <CiSourcesState
        sources={[
          {
            provider: 'github-actions',
            source: 'demo-org/payments-service',
            syncing: false,
            lastSyncedAt: new Date(Date.now() - 9 * 60_000).toISOString(),
            error: {
              name: 'ServiceUnavailableError',
              message: `GitHub unreachable since ${since}`,
            },
          },
        ]}
      />,
    );
    expect(
      screen.getByText(/GitHub unreachable since .+ \(7 minutes ago\)$/),
    ).toBeInTheDocument();
    expect(
      screen.getByText(
        /demo-org\/payments-service: the portal stopped calling GitHub .* The runs below are the ones stored before; last synced 9 minutes ago\./,
      ),
    ).toBeInTheDocument();
    expect(screen.queryByText(/could not be synced/)).not.toBeInTheDocument();
  });

  it('shows any other sync error as it is', async () => {
    await renderInTestApp(
      <CiSourcesState
        sources={[
          {
            provider: 'github-actions',
            source: 'demo-org/payments-service',
            syncing: false,
            error: {
              name: 'NotAllowedError',
              message: 'GitHub refused access to demo-org/payments-service',
            },
          },
        ]}
      />,
    );
    expect(
      screen.getByText(/demo-org\/payments-service could not be synced/),
    ).toBeInTheDocument();
    expect(
      screen.getByText('GitHub refused access to demo-org/payments-service'),
    ).toBeInTheDocument();
    expect(screen.queryByText(/unreachable since/)).not.toBeInTheDocument();
  });

  it('reads the provider and the time from the backend message', () => {
    expect(
      unreachableSince('GitHub unreachable since 2026-12-02T13:00:00.000Z'),
    ).toEqual({ label: 'GitHub', since: '2026-12-02T13:00:00.000Z' });
    expect(
      unreachableSince(
        'Sync failed: GitLab unreachable since 2026-12-02T13:00:00Z',
      ),
    ).toEqual({ label: 'GitLab', since: '2026-12-02T13:00:00Z' });
    expect(unreachableSince('GitHub answered 502')).toBeUndefined();
  });
});
