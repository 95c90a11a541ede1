import { LoggerService } from '@backstage/backend-plugin-api';
import { CiAlertPreview } from '@ci-experience/plugin-ci-experience-common';
import { CiStore } from '../database/CiStore';
import { InsightsService } from '../insights';
import { AlertStore, Channel, StoredRule } from './AlertStore';
import {
  AlertRun,
  brokenAt,
  countFirings,
  figuresVerdict,
  silentAt,
  stuckAt,
  Verdict,
} from './evaluate';
import { AlertDeliverer } from './channels';
import { ValidRule } from './validation';
import { FlakyPolicy } from '../testResults/flaky';
import {
  AlertTestData,
  TEST_KINDS,
  TestAlertKind,
  testKindVerdict,
} from './testKinds';

const HOUR = 3600_000;
const DAY = 24 * HOUR;

/** What a rule's entity covers: its CI sources and (monorepo) workflows. */
export interface AlertTarget {
  sourceKeys: string[];
  workflowScope?: string[];
  /** The entity (the test kinds read its quarantines). */
  entityRef?: string;
  /** Its flaky policy: config's, or its own annotation's. */
  flakyPolicy?: FlakyPolicy;
}

/** The parts of a rule evaluation needs (a stored rule or a draft). */
type RuleShape = Pick<ValidRule, 'kind' | 'params' | 'workflow' | 'branches'>;

const FIGURE_KINDS = new Set([
  'success-rate',
  'duration-regression',
  'flaky-rate',
]);

/** Runs read for an evaluation: this far back, at most this many. */
const LOOKBACK_MS = 60 * DAY;
const MAX_RUNS = 5000;

/** Entities per catalog read in an evaluation pass. */
const TARGET_BATCH = 100;

/**
 * Evaluates rules: when runs of a source they cover are ingested
 * (`schedule`, debounced) and on the schedule (`evaluateAll`). Each verdict
 * goes to the store, which makes a transition at most once across replicas
 * and queues its notices; the deliverer then sends them.
 */
export class AlertEvaluator {
  private timer?: ReturnType<typeof setTimeout>;
  private readonly pendingKeys = new Set<string>();
  private running?: Promise<unknown>;
  private stopped = false;

  constructor(
    private readonly options: {
      /** Where the rules' runs are read. */
      runs: Pick<CiStore, 'listAlertRuns'>;
      store: AlertStore;
      insights: InsightsService;
      /**
       * The targets of entities (undefined: not in the catalog), in the
       * order asked: one catalog read for many entities.
       */
      resolveTargets: (
        entityRefs: string[],
      ) => Promise<Array<AlertTarget | undefined>>;
      deliverer?: AlertDeliverer;
      logger: LoggerService;
      /** Test results and quarantines, for the test kinds; none: they never fire. */
      tests?: AlertTestData;
      /** Folds pending runs into the aggregates first (the figure kinds read them). */
      beforeEvaluation?: () => Promise<unknown>;
      now?: () => Date;
    },
  ) {}

  private now(): Date {
    return this.options.now?.() ?? new Date();
  }

  /** Evaluates one rule now and applies its verdict. */
  async evaluate(
    rule: StoredRule,
    /** The targets of a pass, read from the catalog in batches (`resolveAll`). */
    targets?: Map<string, Promise<AlertTarget | undefined>>,
  ): Promise<'fired' | 'resolved' | undefined> {
    const { store, logger } = this.options;
    const now = this.now();
    if (!rule.enabled) {
      if (rule.state === 'firing') {
        await store.reset(rule.id, now);
      }
      return undefined;
    }
    const target = await (targets?.get(rule.entityRef) ??
      this.options.resolveTargets([rule.entityRef]).then(found => found[0]));
    if (!target) {
      logger.debug(
        `CI alert rule ${rule.id}: entity ${rule.entityRef} not found; not evaluated`,
      );
      return undefined;
    }
    if (
      JSON.stringify(rule.sourceKeys ?? null) !==
      JSON.stringify(target.sourceKeys)
    ) {
      await store.setSourceKeys(rule.id, target.sourceKeys);
    }
    const verdict = await this.verdictAt(rule, target, now);
    const channels: Channel[] = [];
    if (rule.notify) channels.push('notifications');
    if (rule.slack) channels.push('slack');
    const transition = await store.apply(rule, verdict, { now, channels });
    if (transition) {
      logger.info(
        `CI alert rule "${rule.name}" (${rule.kind}) of ${rule.entityRef} ${transition}: ${verdict.detail}`,
      );
      this.options.deliverer
        ?.deliverDue()
        .catch(error => logger.error('CI alert delivery failed', error));
    }
    return transition;
  }

  /**
   * Evaluates every rule (or those covering `sourceKeys`), one at a time;
   * a rule that fails to evaluate is logged and the others go on.
   */
  async evaluateAll(filter?: {
    sourceKeys?: Set<string>;
  }): Promise<{ evaluated: number; fired: number; resolved: number }> {
    const result = { evaluated: 0, fired: 0, resolved: 0 };
    await this.options.beforeEvaluation?.();
    const rules = (await this.options.store.listAllRules()).filter(
      rule =>
        !filter?.sourceKeys ||
        !rule.sourceKeys ||
        rule.sourceKeys.some(k => filter.sourceKeys!.has(k)),
    );
    const targets = this.resolveAll([
      ...new Set(rules.filter(r => r.enabled).map(r => r.entityRef)),
    ]);
    for (const rule of rules) {
      if (this.stopped) break;
      try {
        const t = await this.evaluate(rule, targets);
        result.evaluated += 1;
        if (t === 'fired') result.fired += 1;
        if (t === 'resolved') result.resolved += 1;
      } catch (error) {
        this.options.logger.error(
          `CI alert rule ${rule.id} of ${rule.entityRef} could not be evaluated`,
          error as Error,
        );
      }
    }
    this.options.logger.debug(
      `CI alerts: evaluated ${result.evaluated} rules${
        filter?.sourceKeys ? ` of ${[...filter.sourceKeys].join(', ')}` : ''
      } (${result.fired} fired, ${result.resolved} resolved)`,
    );
    if (result.fired || result.resolved) {
      await this.options.deliverer?.deliverDue();
    }
    return result;
  }

  /**
   * The targets of a pass's entities, read from the catalog
   * `TARGET_BATCH` at a time. A batch that fails fails its rules' evaluations
   * (each logged), not the others'.
   */
  private resolveAll(
    entityRefs: string[],
  ): Map<string, Promise<AlertTarget | undefined>> {
    const targets = new Map<string, Promise<AlertTarget | undefined>>();
    for (let i = 0; i < entityRefs.length; i += TARGET_BATCH) {
      const refs = entityRefs.slice(i, i + TARGET_BATCH);
      const batch = this.options.resolveTargets(refs);
      batch.catch(() => undefined); // reported by each rule's evaluation
      refs.forEach((ref, j) =>
        targets.set(
          ref,
          batch.then(found => found[j]),
        ),
      );
    }
    return targets;
  }

  /** Evaluates the rules covering a source soon (debounced), after ingestion. */
  schedule(sourceKey: string, delayMs = 3000): void {
    if (this.stopped) return;
    this.pendingKeys.add(sourceKey);
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      const keys = new Set(this.pendingKeys);
      this.pendingKeys.clear();
      const previous = this.running ?? Promise.resolve();
      this.running = previous
        .then(() => this.evaluateAll({ sourceKeys: keys }))
        .catch(error =>
          this.options.logger.error('CI alert evaluation failed', error),
        )
        .finally(() => {
          this.running = undefined;
        });
    }, delayMs);
    this.timer.unref?.();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  async idle(): Promise<void> {
    await this.running;
  }

  /** The verdict of a rule at a time, from stored runs and aggregates. */
  async verdictAt(
    rule: RuleShape & { createdAt?: string },
    target: AlertTarget,
    now: Date,
  ): Promise<Verdict> {
    if (FIGURE_KINDS.has(rule.kind)) {
      return this.figuresAt(rule, target, now);
    }
    if (TEST_KINDS.has(rule.kind)) {
      return this.testsAt(rule, target, now.getTime());
    }
    const runs = await this.loadRuns(rule, target, now.getTime() - LOOKBACK_MS);
    const since = rule.createdAt ? Date.parse(rule.createdAt) : now.getTime();
    return runsVerdict(rule, runs, now.getTime(), since);
  }

  private async testsAt(
    rule: RuleShape,
    target: AlertTarget,
    t: number,
  ): Promise<Verdict> {
    if (!this.options.tests) {
      return {
        active: false,
        detail: 'test results are off (ciExperience.testResults)',
        runIds: [],
      };
    }
    return testKindVerdict(
      rule.kind as TestAlertKind,
      rule.params,
      target,
      this.options.tests,
      t,
    );
  }

  private async figuresAt(
    rule: RuleShape,
    target: AlertTarget,
    now: Date,
  ): Promise<Verdict> {
    const days = rule.params.windowDays ?? 7;
    const from = Math.floor(now.getTime() / DAY) * DAY - (days - 1) * DAY;
    const res = await this.options.insights.getInsights({
      sourceKeys: target.sourceKeys,
      workflowScope: target.workflowScope,
      ...(rule.workflow ? { workflow: rule.workflow } : {}),
      ...(rule.branches.length ? { branches: rule.branches } : {}),
      window: { from: new Date(from).toISOString(), to: now.toISOString() },
      now,
    });
    const verdict = figuresVerdict(
      rule.kind as 'success-rate',
      rule.params,
      res.current,
      res.previous,
    );
    if (verdict.active) {
      // The window's latest failed runs, to link from the firing.
      const runs = await this.loadRuns(rule, target, from, 200);
      verdict.runIds = runs
        .filter(r => r.status === 'failed')
        .slice(0, 5)
        .map(r => r.id);
    }
    return verdict;
  }

  /**
   * The runs of the rule's branch set (each source's default branch unless
   * it names branches) and workflow, created since `sinceMs`, newest first.
   */
  async loadRuns(
    rule: RuleShape,
    target: AlertTarget,
    sinceMs: number,
    limit = MAX_RUNS,
  ): Promise<AlertRun[]> {
    const { runs, insights } = this.options;
    if (!target.sourceKeys.length) return [];
    const pairs: Array<[string, string]> = [];
    if (rule.branches.length) {
      for (const key of target.sourceKeys) {
        for (const b of rule.branches) pairs.push([key, b]);
      }
    } else {
      const defaults = await insights.defaultBranches(target.sourceKeys);
      for (const [key, b] of defaults) pairs.push([key, b]);
    }
    if (!pairs.length) return [];
    return runs.listAlertRuns({
      pairs,
      since: new Date(sinceMs).toISOString(),
      workflow: rule.workflow || undefined,
      workflows: rule.workflow ? undefined : target.workflowScope,
      limit,
    });
  }

  /**
   * How many times a drafted rule would have fired over the last `days`
   * days: runs kinds evaluated every hour over the stored runs, figure
   * kinds at the end of every day over the aggregates.
   */
  async preview(
    rule: RuleShape,
    target: AlertTarget,
    days = 30,
  ): Promise<CiAlertPreview> {
    const now = this.now().getTime();
    const start = now - days * DAY;
    const steps: Array<{ t: number; active: boolean }> = [];
    if (rule.kind === 'quarantine-expiring') {
      // Quarantines keep no history of their expiries: now only.
      steps.push({
        t: now,
        active: (await this.testsAt(rule, target, now)).active,
      });
    } else if (TEST_KINDS.has(rule.kind)) {
      for (let i = days - 1; i >= 0; i--) {
        const t =
          i === 0 ? now : Math.floor((now - i * DAY) / DAY) * DAY + DAY - 1;
        steps.push({
          t,
          active: (await this.testsAt(rule, target, t)).active,
        });
      }
    } else if (FIGURE_KINDS.has(rule.kind)) {
      for (let i = days - 1; i >= 0; i--) {
        const t =
          i === 0 ? now : Math.floor((now - i * DAY) / DAY) * DAY + DAY - 1;
        const v = await this.figuresAt(rule, target, new Date(t));
        steps.push({ t, active: v.active });
      }
    } else {
      const runs = await this.loadRuns(rule, target, start - LOOKBACK_MS);
      for (let t = start + HOUR; t <= now; t += HOUR) {
        steps.push({ t, active: runsVerdict(rule, runs, t, start).active });
      }
      steps.push({
        t: now,
        active: runsVerdict(rule, runs, now, start).active,
      });
    }
    const opened = countFirings(steps);
    return {
      days,
      firings: opened.length,
      openedAt: opened.map(t => new Date(t).toISOString()),
    };
  }
}

function runsVerdict(
  rule: RuleShape,
  runs: AlertRun[],
  t: number,
  since: number,
): Verdict {
  switch (rule.kind) {
    case 'default-branch-broken':
      return brokenAt(runs, rule.params, t);
    case 'stuck-run':
      return stuckAt(runs, rule.params, t);
    case 'silent':
      return silentAt(runs, rule.params, t, since);
    default:
      throw new Error(`not a runs kind: ${rule.kind}`);
  }
}
