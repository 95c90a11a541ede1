import { Entity } from '@backstage/catalog-model';
import { renderInTestApp } from '@backstage/frontend-test-utils';
import { EntityProvider } from '@backstage/plugin-catalog-react';
import { fireEvent, screen, waitFor, within } from '@testing-library/react';
import { CiExperienceApi, ciExperienceApiRef } from '../../api';
import {
  annotatedEntity,
  fig,
  alertsApiStubs,
  testsApiStubs,
  insightsApiStubs,
  makeRollup,
  makeRollupItem,
} from '../../testing/fixtures';
import { EntityCiRollupCard, EntityCiRollupContent } from './EntityCiRollup';
import { ciTabPath, sortRollupItems } from './rollup';

jest.setTimeout(30_000);

const group: Entity = {
  apiVersion: 'backstage.io/v1alpha1',
  kind: 'Group',
  metadata: { name: 'payments-team', namespace: 'default' },
  spec: { type: 'team', children: [] },
};
const system: Entity = {
  apiVersion: 'backstage.io/v1alpha1',
  kind: 'System',
  metadata: { name: 'shop', namespace: 'default' },
  spec: { owner: 'payments-team' },
};

function fakeApi(overrides: Partial<CiExperienceApi> = {}) {
  return {
    getRuns: jest.fn(),
    getRun: jest.fn(),
    getJobLog: jest.fn(),
    rerunRun: jest.fn(),
    cancelRun: jest.fn(),
    ...insightsApiStubs(),
    ...alertsApiStubs(),
    ...testsApiStubs(),
    ...overrides,
  } satisfies CiExperienceApi;
}

function render(api: CiExperienceApi, entity: Entity, element: JSX.Element) {
  return renderInTestApp(
    <EntityProvider entity={entity}>{element}</EntityProvider>,
    { apis: [[ciExperienceApiRef, api]] },
  );
}

/** The rows' component names, top to bottom. */
function rowNames(): string[] {
  return screen
    .getAllByTestId('ci-rollup-row')
    .map(row => within(row).getAllByRole('cell')[0].textContent ?? '');
}

describe('sortRollupItems', () => {
  it('puts the worst health first, then components without runs, then those without CI', () => {
    const items = [
      makeRollupItem('no-ci', { hasCi: false }),
      makeRollupItem('healthy', { health: 0.95 }),
      makeRollupItem('quiet'),
      makeRollupItem('broken', { health: 0 }),
      makeRollupItem('sick', { health: 0.4 }),
    ];
    expect(sortRollupItems(items).map(i => i.entityRef)).toEqual([
      'component:default/broken',
      'component:default/sick',
      'component:default/healthy',
      'component:default/quiet',
      'component:default/no-ci',
    ]);
  });

  it('links to the CI tab of each component', () => {
    expect(ciTabPath('component:default/payments')).toBe(
      '/catalog/default/component/payments/ci',
    );
    expect(ciTabPath('Component:Ops/my svc')).toBe(
      '/catalog/ops/component/my%20svc/ci',
    );
  });
});

describe('EntityCiRollupCard', () => {
  it("lists a group's components worst first, each linking to its CI tab", async () => {
    const rollup = makeRollup();
    // Shuffled: the order shown does not rest on the order received.
    const api = fakeApi({
      getGroupInsights: jest.fn(async () =>
        makeRollup({ items: [...rollup.items].reverse() }),
      ),
    });
    await render(api, group, <EntityCiRollupCard />);

    await screen.findByRole('link', { name: 'Checkout' });
    expect(api.getGroupInsights).toHaveBeenCalledWith(
      { kind: 'Group', namespace: 'default', name: 'payments-team' },
      '30d',
    );
    expect(api.getSystemInsights).not.toHaveBeenCalled();
    expect(screen.getByText('CI health of owned components')).toBeVisible();
    // checkout (health 0.4), payments (0.95), quiet (no runs), docs (no CI).
    expect(rowNames()).toEqual(['Checkout', 'payments', 'quiet', 'docs']);
    expect(screen.getByRole('link', { name: 'Checkout' })).toHaveAttribute(
      'href',
      '/catalog/default/component/checkout/ci',
    );
    expect(screen.getByRole('link', { name: 'payments' })).toHaveAttribute(
      'href',
      '/catalog/default/component/payments/ci',
    );
    // Without CI, there is no CI tab to link to.
    expect(screen.queryByRole('link', { name: 'docs' })).toBeNull();

    const [checkout, payments, quiet, docs] =
      screen.getAllByTestId('ci-rollup-row');
    // Health 0.5 × (1 − 0.2) = 0.4; success rate 0.5.
    expect(within(checkout).getByText('40%')).toBeInTheDocument();
    expect(within(checkout).getByText('50%')).toBeInTheDocument();
    expect(within(payments).getAllByText('95%')).toHaveLength(2);
    expect(within(quiet).getByText('no runs')).toBeInTheDocument();
    expect(within(docs).getByText('no CI')).toBeInTheDocument();
    // The card keeps to health and success rate.
    expect(screen.queryByText('p95 duration')).not.toBeInTheDocument();
  });

  it('shows an API error', async () => {
    const api = fakeApi({
      getGroupInsights: jest.fn(async () => {
        throw new Error('Group default/payments-team not found');
      }),
    });
    await render(api, group, <EntityCiRollupCard />);

    expect(
      await screen.findByText(
        'Could not load the CI health: Group default/payments-team not found',
      ),
    ).toBeInTheDocument();
    expect(screen.queryByRole('table')).not.toBeInTheDocument();
  });

  it("reads a system's components from the system roll-up", async () => {
    const api = fakeApi();
    await render(api, system, <EntityCiRollupCard />);

    await screen.findByRole('link', { name: 'Checkout' });
    expect(api.getSystemInsights).toHaveBeenCalledWith(
      { kind: 'System', namespace: 'default', name: 'shop' },
      '30d',
    );
    expect(api.getGroupInsights).not.toHaveBeenCalled();
    expect(screen.getByText('CI health of the components')).toBeVisible();
  });

  it('says it applies to groups and systems only on another kind', async () => {
    const api = fakeApi();
    await render(api, annotatedEntity, <EntityCiRollupCard />);

    expect(
      await screen.findByText(
        'CI health roll-ups are shown for groups and systems only.',
      ),
    ).toBeInTheDocument();
    expect(api.getGroupInsights).not.toHaveBeenCalled();
    expect(api.getSystemInsights).not.toHaveBeenCalled();
  });
});

describe('EntityCiRollupContent', () => {
  it('shows more columns, greys figures below the minimum sample, and refetches for another window', async () => {
    const api = fakeApi({
      getGroupInsights: jest.fn(async () =>
        makeRollup({
          items: [
            ...makeRollup().items,
            makeRollupItem('new-thing', {
              figures: {
                runs: fig(3, 3),
                successRate: fig(2 / 3, 3),
                durationP95: fig(90_000, 3),
                flakyRate: fig(0, 2),
              },
              lastStatus: 'succeeded',
              // 2/3 × (1 − 0) ≈ 0.667
              health: 2 / 3,
            }),
          ],
        }),
      ),
    });
    await render(api, group, <EntityCiRollupContent />);

    await screen.findByRole('link', { name: 'Checkout' });
    const table = screen.getByRole('table', {
      name: 'CI health of owned components',
    });
    for (const column of [
      'Component',
      'Health',
      'Success rate',
      'p95 duration',
      'Flaky rate',
      'Last status',
      'Runs',
    ]) {
      expect(
        within(table).getByRole('columnheader', { name: column }),
      ).toBeInTheDocument();
    }
    // new-thing (0.667) sits between checkout (0.4) and payments (0.95).
    expect(rowNames()).toEqual([
      'Checkout',
      'new-thing',
      'payments',
      'quiet',
      'docs',
    ]);
    const [checkout, newThing] = screen.getAllByTestId('ci-rollup-row');
    expect(within(checkout).getByText('10m 0s')).toBeInTheDocument();
    expect(within(checkout).getByText('20%')).toBeInTheDocument();
    expect(within(checkout).getByText('Failed')).toBeInTheDocument();
    expect(within(checkout).getByText('20')).toBeInTheDocument();
    // 2 of 3 = 66.7%, on 3 runs of the 10 needed: greyed with its sample.
    expect(within(newThing).getByText('66.7%')).toBeInTheDocument();
    expect(within(newThing).getByText('66.7% (3 of 10)')).toHaveAttribute(
      'title',
      'too few runs (3 of 10)',
    );
    expect(within(newThing).getByText('1m 30s (3 of 10)')).toBeInTheDocument();

    fireEvent.change(screen.getByLabelText('Window'), {
      target: { value: '90d' },
    });
    await waitFor(() =>
      expect(api.getGroupInsights).toHaveBeenLastCalledWith(
        { kind: 'Group', namespace: 'default', name: 'payments-team' },
        '90d',
      ),
    );
    expect(api.getGroupInsights).toHaveBeenCalledTimes(2);
  });
  it("lists the flaky tests of the team's components, worst first, each linking to its CI tab", async () => {
    // As plugins/ci-experience-backend/src/routes/testResults.test.ts reads
    // GET /groups/{namespace}/{name}/tests back.
    const getGroupFlakyTests = jest.fn(async () => ({
      entities: 2,
      items: [
        {
          entityRef: 'component:default/checkout',
          id: 'c'.repeat(32),
          suite: 'web',
          name: 'applies a coupon',
          state: 'flaky' as const,
          runs: 40,
          failures: 4,
          flakeRate: 0.1,
          timeLostMs: 600_000,
          quarantined: true,
        },
        {
          entityRef: 'component:default/payments',
          id: 'p'.repeat(32),
          suite: 'api',
          name: 'refunds a payment',
          state: 'flaky' as const,
          runs: 41,
          failures: 3,
          flakeRate: 0.0732,
          timeLostMs: 300_000,
          quarantined: false,
        },
      ],
    }));
    await render(
      fakeApi({ getGroupFlakyTests }),
      group,
      <EntityCiRollupContent />,
    );
    const card = await screen.findByTestId('flaky-tests-rollup');
    await within(card).findByText('applies a coupon');
    const rows = within(card).getAllByRole('row').slice(1);
    expect(
      rows.map(r => within(r).getAllByRole('cell')[0].textContent),
    ).toEqual([
      expect.stringContaining('applies a coupon'),
      expect.stringContaining('refunds a payment'),
    ]);
    expect(
      within(rows[0]).getByRole('link', { name: 'checkout' }),
    ).toHaveAttribute('href', ciTabPath('component:default/checkout'));
    expect(within(rows[0]).getByText('quarantined')).toBeInTheDocument();
    expect(within(rows[1]).getByText('7.3 %')).toBeInTheDocument();
    expect(getGroupFlakyTests).toHaveBeenCalledWith(
      { kind: 'Group', namespace: 'default', name: 'payments-team' },
      '30d',
    );
  });
});
