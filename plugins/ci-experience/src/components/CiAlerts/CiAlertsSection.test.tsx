import { Entity } from '@backstage/catalog-model';
import { ResponseError } from '@backstage/errors';
import { mockApis, renderInTestApp } from '@backstage/frontend-test-utils';
import { EntityProvider } from '@backstage/plugin-catalog-react';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import {
  CiAlertRule,
  CiAlertRuleInput,
} from '@ci-experience/plugin-ci-experience-common';
import {
  act,
  fireEvent,
  screen,
  waitFor,
  within,
} from '@testing-library/react';
import { CiExperienceApi, ciExperienceApiRef } from '../../api';
import {
  alertsApiStubs,
  testsApiStubs,
  annotatedEntity,
  insightsApiStubs,
  makeAlertFiring,
  makeAlertRule,
  makeResponse,
  makeRun,
  makeRunDetail,
} from '../../testing/fixtures';
import { CI_TAB, renderCiTab } from '../../__testUtils__/renderCiTab';
import { formatDateTime } from './alerts';
import { CiAlertsSection } from './CiAlertsSection';

// Dialogs and the whole app are slow on a loaded 2-core machine.
jest.setTimeout(60_000);

const entityRef = { kind: 'Component', namespace: 'default', name: 'payments' };
const SLACK_URL = 'https://hooks.slack.com/services/T000/B000/secret';

/** A second rule: success rate, OK, disabled, snoozed for a day. */
function successRule(overrides: Partial<CiAlertRule> = {}): CiAlertRule {
  return makeAlertRule({
    id: 'rule-2',
    name: 'Success rate',
    kind: 'success-rate',
    params: { belowPercent: 80, windowDays: 7, minRuns: 10 },
    workflow: 'CI',
    branches: ['main', 'release/*'],
    severity: 'warning',
    enabled: false,
    state: 'ok',
    stateSince: new Date(Date.now() - 3 * 3_600_000).toISOString(),
    snoozedUntil: new Date(Date.now() + 24 * 3_600_000).toISOString(),
    channels: { notifications: true, slack: false },
    lastDetail: '95% on 40 runs',
    ...overrides,
  });
}

function fakeApi(overrides: Partial<CiExperienceApi> = {}) {
  return {
    getRuns: jest.fn(async () => makeResponse()),
    getRun: jest.fn(),
    getJobLog: jest.fn(),
    rerunRun: jest.fn(),
    cancelRun: jest.fn(),
    ...insightsApiStubs(),
    ...alertsApiStubs(),
    ...testsApiStubs(),
    getAlertRules: jest.fn(async () => ({
      rules: [makeAlertRule(), successRule()],
    })),
    previewAlertRule: jest.fn(async (_ref, input: CiAlertRuleInput) => ({
      days: 30,
      firings: input.params.minutes ?? 0,
      openedAt: [
        '2024-05-02T10:00:00.000Z',
        '2024-05-03T10:00:00.000Z',
        '2024-05-04T10:00:00.000Z',
        '2024-05-05T10:00:00.000Z',
        '2024-05-06T10:00:00.000Z',
        '2024-05-07T10:00:00.000Z',
      ].slice(0, input.params.minutes ?? 0),
    })),
    ...overrides,
  } satisfies CiExperienceApi;
}

/**
 * The section alone, for an entity; each test that is denied uses its own
 * entity, as usePermission caches a decision per entity ref for a moment.
 */
async function render(
  api: CiExperienceApi,
  options: {
    permission?: AuthorizeResult.ALLOW | AuthorizeResult.DENY;
    entity?: Entity;
  } = {},
) {
  let result: ReturnType<typeof renderInTestApp> | undefined;
  // The rules and firings arrive a few microtasks after the first render:
  // inside act, so that React sees them as part of it.
  await act(async () => {
    result = renderInTestApp(
      <EntityProvider entity={options.entity ?? annotatedEntity}>
        <CiAlertsSection />
      </EntityProvider>,
      {
        apis: [
          [ciExperienceApiRef, api],
          mockApis.permission({
            authorize: options.permission ?? AuthorizeResult.ALLOW,
          }),
        ],
      },
    );
  });
  return result!;
}

const row = (name: string) =>
  within(screen.getByRole('table', { name: 'Alert rules' })).getByRole('row', {
    name,
  });

/** Fires a change on a labelled field of the open form. */
function type(label: string | RegExp, value: string) {
  const dialog = screen.getByRole('dialog');
  fireEvent.change(within(dialog).getByLabelText(label), {
    target: { value },
  });
}

async function badRequest(message: string): Promise<ResponseError> {
  return ResponseError.fromResponse(
    new Response(
      JSON.stringify({
        error: { name: 'InputError', message },
        request: { method: 'POST', url: '/alert-rules' },
        response: { statusCode: 400 },
      }),
      {
        status: 400,
        statusText: 'Bad Request',
        headers: { 'Content-Type': 'application/json' },
      },
    ),
  );
}

describe('CiAlertsSection', () => {
  it('lists the rules with their state, kind in words, scope and snooze', async () => {
    const api = fakeApi();
    await render(api);

    await screen.findByRole('table', { name: 'Alert rules' });
    expect(api.getAlertRules).toHaveBeenCalledWith(entityRef);
    expect(screen.getByText('2 rules, 1 firing, 1 disabled')).toBeVisible();

    const red = row('Main is red');
    expect(
      within(red).getByText('Default branch broken: 3 runs in a row or 30 min'),
    ).toBeInTheDocument();
    expect(
      within(red).getByText('All workflows on the default branch'),
    ).toBeInTheDocument();
    expect(within(red).getByText('Critical')).toBeInTheDocument();
    expect(within(red).getByText('Firing')).toBeInTheDocument();
    expect(within(red).getByText(/since 20 minutes ago/)).toBeInTheDocument();
    expect(within(red).getByText('3 failed runs in a row')).toBeInTheDocument();
    expect(
      within(red).getByRole('checkbox', { name: 'Enabled: Main is red' }),
    ).toBeChecked();

    const rate = row('Success rate');
    expect(
      within(rate).getByText(
        'Success rate below 80% over 7 days (at least 10 runs)',
      ),
    ).toBeInTheDocument();
    expect(within(rate).getByText('CI on main, release/*')).toBeInTheDocument();
    expect(within(rate).getByText('OK')).toBeInTheDocument();
    expect(within(rate).getByText(/since 3 hours ago/)).toBeInTheDocument();
    expect(within(rate).getByText(/^Snoozed until /)).toBeInTheDocument();
    expect(
      within(rate).getByRole('checkbox', { name: 'Enabled: Success rate' }),
    ).not.toBeChecked();
    expect(screen.queryByText(/Only the owners/)).not.toBeInTheDocument();
  });

  it('creates a rule with the params of its kind, previewing each change', async () => {
    const api = fakeApi();
    await render(api);
    fireEvent.click(await screen.findByRole('button', { name: 'New rule' }));
    const dialog = await screen.findByRole('dialog', {
      name: 'New alert rule',
    });

    // The default kind's fields, previewed before a name is typed.
    expect(within(dialog).getByLabelText('Failed runs in a row')).toHaveValue(
      3,
    );
    expect(
      await within(dialog).findByText(
        'Would have fired 30 times in the last 30 days.',
      ),
    ).toBeInTheDocument();

    type('Name', 'Stuck deploys');
    type('Kind', 'stuck-run');
    // Only the fields of that kind.
    expect(
      within(dialog).queryByLabelText('Failed runs in a row'),
    ).not.toBeInTheDocument();
    expect(
      within(dialog).getByLabelText(
        'Queued or running for more than (minutes)',
      ),
    ).toHaveValue(60);
    // Typed quickly: only the last value is previewed.
    type('Queued or running for more than (minutes)', '4');
    type('Queued or running for more than (minutes)', '5');
    expect(
      await within(dialog).findByText(
        'Would have fired 5 times in the last 30 days.',
      ),
    ).toBeInTheDocument();
    expect(
      within(dialog).getByText(
        `Latest first: ${[6, 5, 4, 3, 2]
          .map(day => formatDateTime(`2024-05-0${day}T10:00:00.000Z`))
          .join('; ')}.`,
      ),
    ).toBeInTheDocument();
    expect(api.previewAlertRule).not.toHaveBeenCalledWith(
      entityRef,
      expect.objectContaining({ params: { minutes: 4 } }),
    );
    expect(api.previewAlertRule).toHaveBeenLastCalledWith(entityRef, {
      name: 'Stuck deploys',
      kind: 'stuck-run',
      params: { minutes: 5 },
      branches: [],
      severity: 'warning',
      enabled: true,
      notifications: true,
    });

    type('Workflow (optional)', 'Deploy');
    type('Branches', 'main, release/*');
    type('Severity', 'critical');
    fireEvent.click(
      within(dialog).getByRole('checkbox', {
        name: 'Backstage notifications to the owners',
      }),
    );
    type('Slack webhook URL (optional)', SLACK_URL);
    // The preview is not told the webhook.
    await waitFor(() =>
      expect(api.previewAlertRule).toHaveBeenLastCalledWith(
        entityRef,
        expect.objectContaining({ workflow: 'Deploy', notifications: false }),
      ),
    );
    for (const [, input] of jest.mocked(api.previewAlertRule).mock.calls) {
      expect(input).not.toHaveProperty('slackWebhookUrl');
    }

    fireEvent.click(
      within(dialog).getByRole('button', { name: 'Create rule' }),
    );
    await waitFor(() =>
      expect(screen.queryByRole('dialog')).not.toBeInTheDocument(),
    );
    expect(api.createAlertRule).toHaveBeenCalledWith(entityRef, {
      name: 'Stuck deploys',
      kind: 'stuck-run',
      params: { minutes: 5 },
      workflow: 'Deploy',
      branches: ['main', 'release/*'],
      severity: 'critical',
      enabled: true,
      notifications: false,
      slackWebhookUrl: SLACK_URL,
    });
    // The list is read again.
    await waitFor(() => expect(api.getAlertRules).toHaveBeenCalledTimes(2));
  });

  it("shows the backend's 400 in the form, and a failing preview", async () => {
    const api = fakeApi({
      previewAlertRule: jest.fn(async () => {
        throw await badRequest('params.windowDays must be 1 to 90');
      }),
      createAlertRule: jest.fn(async () => {
        throw await badRequest('params.runs must be an integer from 1 to 1000');
      }),
    });
    await render(api);
    fireEvent.click(await screen.findByRole('button', { name: 'New rule' }));
    const dialog = await screen.findByRole('dialog');

    expect(
      await within(dialog).findByText(
        'Could not preview this rule: params.windowDays must be 1 to 90',
      ),
    ).toBeInTheDocument();

    // Client-side checks first: nothing is sent without a name.
    fireEvent.click(
      within(dialog).getByRole('button', { name: 'Create rule' }),
    );
    expect(within(dialog).getByText('Give the rule a name')).toBeVisible();
    expect(api.createAlertRule).not.toHaveBeenCalled();

    type('Name', 'Main is red');
    fireEvent.click(
      within(dialog).getByRole('button', { name: 'Create rule' }),
    );
    expect(
      await within(dialog).findByText(
        'Could not save the rule: params.runs must be an integer from 1 to 1000',
      ),
    ).toBeInTheDocument();
    // The form stays open with what was typed.
    expect(within(dialog).getByLabelText('Name')).toHaveValue('Main is red');
  });

  it('edits a rule whose Slack webhook is set without ever sending or showing its URL', async () => {
    const api = fakeApi();
    const { container } = await render(api);
    fireEvent.click(
      await screen.findByRole('button', { name: 'Edit Main is red' }),
    );
    let dialog = await screen.findByRole('dialog', {
      name: 'Edit alert rule “Main is red”',
    });
    expect(within(dialog).getByText('A Slack webhook is set.')).toBeVisible();
    expect(
      within(dialog).queryByLabelText(/Slack webhook URL/),
    ).not.toBeInTheDocument();
    expect(within(dialog).getByLabelText('Name')).toHaveValue('Main is red');
    expect(
      within(dialog).getByLabelText('Or failing for (minutes)'),
    ).toHaveValue(30);

    type('Or failing for (minutes)', '45');
    fireEvent.click(
      within(dialog).getByRole('button', { name: 'Save changes' }),
    );
    await waitFor(() => expect(api.updateAlertRule).toHaveBeenCalledTimes(1));
    const [id, kept] = jest.mocked(api.updateAlertRule).mock.calls[0];
    expect(id).toBe('rule-1');
    expect(kept).toEqual({
      name: 'Main is red',
      kind: 'default-branch-broken',
      params: { runs: 3, minutes: 45 },
      branches: [],
      severity: 'critical',
      enabled: true,
      notifications: true,
    });
    expect(kept).not.toHaveProperty('slackWebhookUrl');
    await waitFor(() =>
      expect(screen.queryByRole('dialog')).not.toBeInTheDocument(),
    );

    // Replaced: the new URL is sent, and only then.
    fireEvent.click(screen.getByRole('button', { name: 'Edit Main is red' }));
    dialog = await screen.findByRole('dialog');
    fireEvent.click(within(dialog).getByRole('button', { name: 'Replace' }));
    fireEvent.click(
      within(dialog).getByRole('button', { name: 'Save changes' }),
    );
    expect(
      within(dialog).getByText(
        'Paste the new webhook URL, or keep the current one',
      ),
    ).toBeVisible();
    type('New Slack webhook URL', SLACK_URL);
    fireEvent.click(
      within(dialog).getByRole('button', { name: 'Save changes' }),
    );
    await waitFor(() => expect(api.updateAlertRule).toHaveBeenCalledTimes(2));
    expect(jest.mocked(api.updateAlertRule).mock.calls[1][1]).toMatchObject({
      slackWebhookUrl: SLACK_URL,
    });
    await waitFor(() =>
      expect(screen.queryByRole('dialog')).not.toBeInTheDocument(),
    );

    // Removed: null.
    fireEvent.click(screen.getByRole('button', { name: 'Edit Main is red' }));
    dialog = await screen.findByRole('dialog');
    fireEvent.click(within(dialog).getByRole('button', { name: 'Remove' }));
    expect(
      within(dialog).getByText(
        'The Slack webhook will be removed when you save.',
      ),
    ).toBeVisible();
    fireEvent.click(
      within(dialog).getByRole('button', { name: 'Save changes' }),
    );
    await waitFor(() => expect(api.updateAlertRule).toHaveBeenCalledTimes(3));
    expect(
      jest.mocked(api.updateAlertRule).mock.calls[2][1].slackWebhookUrl,
    ).toBeNull();

    // No stored URL anywhere in the page (the API never sends one anyway).
    expect(container.ownerDocument.body.innerHTML).not.toContain(
      'hooks.slack.com',
    );
    // The preview was never told a webhook.
    for (const [, input] of jest.mocked(api.previewAlertRule).mock.calls) {
      expect(input).not.toHaveProperty('slackWebhookUrl');
    }
  });

  it('toggles a rule, snoozes it, unsnoozes another, and deletes one after asking', async () => {
    const api = fakeApi();
    await render(api);

    fireEvent.click(
      await screen.findByRole('checkbox', { name: 'Enabled: Main is red' }),
    );
    await waitFor(() => expect(api.updateAlertRule).toHaveBeenCalledTimes(1));
    expect(api.updateAlertRule).toHaveBeenLastCalledWith('rule-1', {
      name: 'Main is red',
      kind: 'default-branch-broken',
      params: { runs: 3, minutes: 30 },
      branches: [],
      severity: 'critical',
      enabled: false,
      notifications: true,
    });

    await waitFor(() =>
      expect(
        screen.getByRole('button', { name: 'Snooze Main is red' }),
      ).toBeEnabled(),
    );
    fireEvent.click(screen.getByRole('button', { name: 'Snooze Main is red' }));
    const menu = await screen.findByRole('menu');
    expect(
      within(menu)
        .getAllByRole('menuitem')
        .map(item => item.textContent),
    ).toEqual(['1 hour', '8 hours', '24 hours', '7 days', 'Unsnooze']);
    // Not snoozed: nothing to unsnooze.
    expect(
      within(menu).getByRole('menuitem', { name: 'Unsnooze' }),
    ).toHaveAttribute('aria-disabled', 'true');
    const before = Date.now();
    fireEvent.click(within(menu).getByRole('menuitem', { name: '8 hours' }));
    await waitFor(() => expect(api.updateAlertRule).toHaveBeenCalledTimes(2));
    const [id, snoozed] = jest.mocked(api.updateAlertRule).mock.calls[1];
    expect(id).toBe('rule-1');
    expect(snoozed).toMatchObject({ enabled: true, name: 'Main is red' });
    expect(snoozed).not.toHaveProperty('slackWebhookUrl');
    const until = Date.parse(snoozed.snoozedUntil!);
    expect(until).toBeGreaterThanOrEqual(before + 8 * 3_600_000);
    expect(until).toBeLessThanOrEqual(Date.now() + 8 * 3_600_000);

    await waitFor(() =>
      expect(
        screen.getByRole('button', { name: 'Snooze Success rate' }),
      ).toBeEnabled(),
    );
    fireEvent.click(
      screen.getByRole('button', { name: 'Snooze Success rate' }),
    );
    fireEvent.click(
      within(await screen.findByRole('menu')).getByRole('menuitem', {
        name: 'Unsnooze',
      }),
    );
    await waitFor(() => expect(api.updateAlertRule).toHaveBeenCalledTimes(3));
    expect(api.updateAlertRule).toHaveBeenLastCalledWith(
      'rule-2',
      expect.objectContaining({
        snoozedUntil: null,
        enabled: false,
        workflow: 'CI',
        branches: ['main', 'release/*'],
      }),
    );

    await waitFor(() =>
      expect(
        screen.getByRole('button', { name: 'Delete Success rate' }),
      ).toBeEnabled(),
    );
    fireEvent.click(
      screen.getByRole('button', { name: 'Delete Success rate' }),
    );
    const confirm = await screen.findByRole('dialog', {
      name: 'Delete the alert rule “Success rate”?',
    });
    expect(api.deleteAlertRule).not.toHaveBeenCalled();
    fireEvent.click(
      within(confirm).getByRole('button', { name: 'Delete rule' }),
    );
    await waitFor(() =>
      expect(api.deleteAlertRule).toHaveBeenCalledWith('rule-2'),
    );
  });

  it('shows why a change was refused', async () => {
    const api = fakeApi({
      updateAlertRule: jest.fn(async () => {
        throw new Error('You may not change the alerts of this entity');
      }),
    });
    await render(api);
    fireEvent.click(
      await screen.findByRole('checkbox', { name: 'Enabled: Main is red' }),
    );
    expect(
      await screen.findByText(
        'Could not disable “Main is red”: You may not change the alerts of this entity',
      ),
    ).toBeInTheDocument();
  });

  it('is read-only, saying why, to those not allowed to manage alerts', async () => {
    const api = fakeApi();
    await render(api, {
      permission: AuthorizeResult.DENY,
      entity: {
        ...annotatedEntity,
        metadata: { ...annotatedEntity.metadata, name: 'ledger' },
      },
    });

    expect(
      await screen.findByText(
        'Only the owners of this entity can change its alerts.',
      ),
    ).toBeInTheDocument();
    const table = await screen.findByRole('table', { name: 'Alert rules' });
    expect(within(table).getByText('Firing')).toBeInTheDocument();
    expect(within(table).getAllByText('Yes')).toHaveLength(1);
    expect(within(table).getAllByText('No')).toHaveLength(1);
    expect(within(table).queryByRole('checkbox')).not.toBeInTheDocument();
    expect(
      screen.queryByRole('button', { name: /New rule|Edit|Delete|Snooze/ }),
    ).not.toBeInTheDocument();
    expect(within(table).queryByText('Actions')).not.toBeInTheDocument();
  });

  it('shows the firing history, open first, with deliveries and links to the runs', async () => {
    const api = fakeApi({
      getAlertFirings: jest.fn(async () => ({
        firings: [
          makeAlertFiring(),
          makeAlertFiring({
            id: 'firing-0',
            ruleName: 'Success rate',
            severity: 'warning',
            openedAt: new Date(Date.now() - 2 * 86_400_000).toISOString(),
            resolvedAt: new Date(Date.now() - 86_400_000).toISOString(),
            detail: 'success rate 60% on 20 runs',
            runIds: [],
            deliveries: [],
            snoozed: true,
          }),
        ],
      })),
    });
    await render(api);

    const toggle = await screen.findByText(
      'Show firing history (1 open, 2 in all)',
    );
    expect(api.getAlertFirings).toHaveBeenCalledWith(entityRef);
    fireEvent.click(toggle);
    const table = await screen.findByRole('table', { name: 'Firing history' });
    const [, open, resolved] = within(table).getAllByRole('row');

    expect(open).toHaveAccessibleName('Main is red firing');
    expect(within(open).getByText('open')).toBeInTheDocument();
    expect(within(open).getByText('20 minutes ago')).toBeInTheDocument();
    expect(
      within(open).getByText(
        'notifications: sent, slack: failed (HTTP 500, 3 attempts)',
      ),
    ).toBeInTheDocument();
    const links = within(open).getAllByRole('link');
    expect(links.map(link => link.textContent)).toEqual(['latest', '2', '3']);
    expect(links.map(link => link.getAttribute('href'))).toEqual([
      '/runs/run-3',
      '/runs/run-2',
      '/runs/run-1',
    ]);
    expect(links[0]).toHaveAccessibleName(
      'Latest run that made Main is red fire',
    );

    expect(resolved).toHaveAccessibleName('Success rate firing');
    expect(within(resolved).queryByText('open')).not.toBeInTheDocument();
    expect(within(resolved).getByText('yesterday')).toBeInTheDocument();
    expect(within(resolved).getByText('2 days ago')).toBeInTheDocument();
    expect(
      within(resolved).getByText('success rate 60% on 20 runs'),
    ).toBeInTheDocument();
    expect(
      within(resolved).getByText('snoozed: nobody notified'),
    ).toBeInTheDocument();
  });

  it('sits on the CI tab, and a firing links to the run page that caused it', async () => {
    const api = fakeApi({
      getRuns: jest.fn(async () => makeResponse({ items: [makeRun()] })),
      getRun: jest.fn(async () => makeRunDetail({ id: 'run-3' })),
      getAlertFirings: jest.fn(async () => ({
        firings: [makeAlertFiring()],
      })),
    });
    renderCiTab({ api });

    const section = await screen.findByRole('region', { name: 'Alerts' });
    await within(section).findByRole('table', { name: 'Alert rules' });
    // The runs are still there, below.
    await screen.findByText('#562');
    expect(screen.getByRole('region', { name: 'CI health' })).toBeVisible();

    fireEvent.click(within(section).getByText(/Show firing history/));
    const link = await within(section).findByRole('link', {
      name: 'Latest run that made Main is red fire',
    });
    expect(link).toHaveAttribute('href', `${CI_TAB}/runs/run-3`);
    fireEvent.click(link);
    expect(
      await screen.findByRole('heading', { name: 'CI #562' }),
    ).toBeInTheDocument();
    expect(api.getRun).toHaveBeenCalledWith('run-3');
  });
});
