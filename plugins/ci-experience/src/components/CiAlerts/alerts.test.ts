import { makeAlertFiring, makeAlertRule } from '../../testing/fixtures';
import {
  defaultParams,
  describeDeliveries,
  isTestKind,
  describeRule,
  describeScope,
  draftFromRule,
  draftToInput,
  draftToPreviewInput,
  formatMinutes,
  newDraft,
  ruleToInput,
  validateDraft,
} from './alerts';

describe('alert rules in words', () => {
  it('describes each kind with its thresholds', () => {
    expect(
      describeRule({
        kind: 'default-branch-broken',
        params: { runs: 3, minutes: 30 },
      }),
    ).toBe('Default branch broken: 3 runs in a row or 30 min');
    expect(
      describeRule({ kind: 'default-branch-broken', params: { runs: 2 } }),
    ).toBe('Default branch broken: 2 runs in a row');
    expect(
      describeRule({ kind: 'default-branch-broken', params: { minutes: 90 } }),
    ).toBe('Default branch broken: failing for 1 h 30 min');
    expect(
      describeRule({
        kind: 'success-rate',
        params: { belowPercent: 80, windowDays: 7, minRuns: 10 },
      }),
    ).toBe('Success rate below 80% over 7 days (at least 10 runs)');
    expect(
      describeRule({
        kind: 'duration-regression',
        params: { abovePercent: 120, windowDays: 14, minRuns: 5 },
      }),
    ).toBe(
      'Duration regression: p95 over 14 days above 120% of the previous 14 days (at least 5 runs in each)',
    );
    expect(
      describeRule({
        kind: 'flaky-rate',
        params: { abovePercent: 10, windowDays: 1, minRuns: 1 },
      }),
    ).toBe('Flaky rate above 10% over 1 day (at least 1 commit)');
    expect(describeRule({ kind: 'stuck-run', params: { minutes: 120 } })).toBe(
      'Stuck run: queued or running for more than 2 h',
    );
    expect(describeRule({ kind: 'silent', params: { days: 7 } })).toBe(
      'Silent: no run for 7 days',
    );
  });

  it('formats minutes, scopes and deliveries', () => {
    expect(formatMinutes(45)).toBe('45 min');
    expect(formatMinutes(2880)).toBe('2 days');
    expect(describeScope({ branches: [] })).toBe(
      'All workflows on the default branch',
    );
    expect(
      describeScope({ workflow: 'CI', branches: ['main', 'release/*'] }),
    ).toBe('CI on main, release/*');
    expect(describeDeliveries(makeAlertFiring())).toBe(
      'notifications: sent, slack: failed (HTTP 500, 3 attempts)',
    );
    expect(
      describeDeliveries(makeAlertFiring({ deliveries: [], snoozed: true })),
    ).toBe('snoozed: nobody notified');
    expect(
      describeDeliveries(
        makeAlertFiring({
          deliveries: [
            {
              channel: 'notifications',
              notice: 'resolved',
              status: 'pending',
              attempts: 0,
            },
          ],
        }),
      ),
    ).toBe('notifications (resolved): pending');
  });
});

describe('the test kinds', () => {
  it('describe their thresholds, read every branch, and start from their defaults', () => {
    expect(describeRule({ kind: 'new-flaky-test', params: { days: 7 } })).toBe(
      'New flaky test: a test turned flaky within 7 days',
    );
    expect(
      describeRule({
        kind: 'test-failure-rate',
        params: { abovePercent: 20, windowDays: 14, minRuns: 10 },
      }),
    ).toBe(
      'Test failure rate: a test failed in more than 20% of its runs over 14 days (at least 10 runs)',
    );
    expect(
      describeRule({ kind: 'quarantine-expiring', params: { days: 1 } }),
    ).toBe('Quarantine expiring within 1 day');
    expect(
      describeScope({ kind: 'new-flaky-test', workflow: 'CI', branches: [] }),
    ).toBe('Test results of every workflow and branch');
    expect(isTestKind('flaky-rate')).toBe(false);
    const draft = {
      ...newDraft(),
      name: 'Flakes',
      kind: 'test-failure-rate' as const,
      params: defaultParams('test-failure-rate'),
    };
    expect(validateDraft(draft)).toEqual({});
    expect(draftToInput(draft).params).toEqual({
      abovePercent: 20,
      windowDays: 7,
      minRuns: 10,
    });
  });
});

describe('the rule form', () => {
  it('sends only the fields of the chosen kind, and no Slack URL unless typed', () => {
    const draft = {
      ...newDraft(),
      name: ' Stuck ',
      kind: 'stuck-run' as const,
      params: { minutes: '45', runs: '3' },
      workflow: ' Deploy ',
      branches: 'main, release/* ,',
    };
    expect(validateDraft(draft)).toEqual({});
    expect(draftToInput(draft)).toEqual({
      name: 'Stuck',
      kind: 'stuck-run',
      params: { minutes: 45 },
      workflow: 'Deploy',
      branches: ['main', 'release/*'],
      severity: 'warning',
      enabled: true,
      notifications: true,
    });
    expect(
      draftToInput({ ...draft, slackUrl: 'https://hooks.slack.com/x' }),
    ).toMatchObject({ slackWebhookUrl: 'https://hooks.slack.com/x' });
    // The preview never gets the secret, and gets a name before one is typed.
    expect(
      draftToPreviewInput({
        ...draft,
        name: '',
        slackUrl: 'https://hooks.slack.com/x',
      }),
    ).not.toHaveProperty('slackWebhookUrl');
    expect(draftToPreviewInput({ ...draft, name: '' }).name).toBe('New rule');
  });

  it('keeps, replaces or removes a stored Slack webhook, and keeps a snooze', () => {
    const rule = makeAlertRule({ snoozedUntil: '2030-01-01T00:00:00.000Z' });
    const draft = draftFromRule(rule);
    expect(draft.slackStored).toBe(true);
    expect(draft.slackUrl).toBe('');

    const kept = draftToInput(draft);
    expect(kept).not.toHaveProperty('slackWebhookUrl');
    expect(kept).toEqual(ruleToInput(rule));
    expect(kept.snoozedUntil).toBe('2030-01-01T00:00:00.000Z');

    expect(
      validateDraft({ ...draft, slackAction: 'replace' }).slackWebhookUrl,
    ).toMatch(/Paste the new webhook URL/);
    expect(
      draftToInput({
        ...draft,
        slackAction: 'replace',
        slackUrl: 'https://hooks.slack.com/new',
      }).slackWebhookUrl,
    ).toBe('https://hooks.slack.com/new');
    expect(
      draftToInput({ ...draft, slackAction: 'remove' }).slackWebhookUrl,
    ).toBeNull();
  });

  it('catches obvious mistakes by field', () => {
    const draft = newDraft();
    expect(validateDraft(draft)).toEqual({ name: 'Give the rule a name' });
    expect(
      validateDraft({ ...draft, name: 'x', params: { runs: '', minutes: '' } }),
    ).toEqual({ 'params.runs': 'Set the runs, the minutes, or both' });
    expect(
      validateDraft({
        ...draft,
        name: 'x',
        params: { runs: '1.5', minutes: '50000' },
      }),
    ).toEqual({
      'params.runs': 'A whole number',
      'params.minutes': 'At most 43200',
    });
    expect(
      validateDraft({
        ...draft,
        name: 'x',
        kind: 'duration-regression',
        params: { abovePercent: '90', windowDays: '7', minRuns: '0' },
      }),
    ).toEqual({
      'params.abovePercent': 'Above 100',
      'params.minRuns': 'At least 1',
    });
    expect(
      validateDraft({ ...draft, name: 'x', slackUrl: 'http://example.com' })
        .slackWebhookUrl,
    ).toMatch(/https:\/\//);
  });
});
