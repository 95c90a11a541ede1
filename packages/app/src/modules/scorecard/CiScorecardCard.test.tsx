import { Entity } from '@backstage/catalog-model';
import { renderInTestApp } from '@backstage/frontend-test-utils';
import { EntityProvider } from '@backstage/plugin-catalog-react';
import { screen, within } from '@testing-library/react';
import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { CheckResult, CiScorecardCard } from './CiScorecardCard';

// The response's shape is that of Tech Insights' backend
// (@backstage-community/plugin-tech-insights-backend 3.1.0, router
// `POST /checks/run/:namespace/:kind/:name`, JsonRulesEngineFactChecker's
// `ruleEngineResultsToCheckResponse`): a check with missing facts is
// skipped, not returned.
const passed: CheckResult = {
  check: {
    id: 'ciSuccessRate',
    name: 'CI passes on the default branch',
    description: 'At least 90 % of default-branch runs succeed (30 days)',
  },
  facts: { ciSuccessRate30d: { value: 0.9541284403669725 } },
  result: true,
};
const failed: CheckResult = {
  check: { id: 'ciAlerts', name: 'CI alerts are configured' },
  facts: { ciAlertsConfigured: { value: false } },
  result: false,
};

const entity: Entity = {
  apiVersion: 'backstage.io/v1alpha1',
  kind: 'Component',
  metadata: {
    name: 'payments-service',
    namespace: 'default',
    annotations: { 'github.com/project-slug': 'acme/payments-service' },
  },
  spec: { type: 'service', owner: 'team-payments', lifecycle: 'production' },
};

const server = setupServer();
beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
afterEach(() => server.resetHandlers());
afterAll(() => server.close());

describe('CiScorecardCard', () => {
  it('shows each CI check for the entity, a skipped one as no data', async () => {
    const asked: unknown[] = [];
    server.use(
      http.post(
        '*/api/tech-insights/checks/run/default/Component/payments-service',
        async ({ request }) => {
          asked.push(await request.json());
          return HttpResponse.json([passed, failed]);
        },
      ),
    );
    await renderInTestApp(
      <EntityProvider entity={entity}>
        <CiScorecardCard />
      </EntityProvider>,
    );

    const row = async (name: string) =>
      (await screen.findByText(name)).closest('tr') as HTMLElement;
    expect(
      within(await row('CI passes on the default branch')).getByText('passed'),
    ).toBeInTheDocument();
    expect(
      within(await row('CI passes on the default branch')).getByText(
        'ciSuccessRate30d: 0.95',
      ),
    ).toBeInTheDocument();
    expect(
      within(await row('CI alerts are configured')).getByText('failed'),
    ).toBeInTheDocument();
    expect(
      within(await row('ciNotRedForLong')).getByText('no data'),
    ).toBeInTheDocument();
    expect(asked).toEqual([
      { checks: ['ciSuccessRate', 'ciNotRedForLong', 'ciAlerts'] },
    ]);
  });

  it('says why when Tech Insights refuses', async () => {
    server.use(
      http.post('*/api/tech-insights/checks/run/*', () =>
        HttpResponse.json(
          { error: { name: 'NotAllowedError', message: 'Unauthorized' } },
          { status: 403 },
        ),
      ),
    );
    await renderInTestApp(
      <EntityProvider entity={entity}>
        <CiScorecardCard />
      </EntityProvider>,
    );
    expect(await screen.findByText(/Unauthorized/)).toBeInTheDocument();
  });
});
