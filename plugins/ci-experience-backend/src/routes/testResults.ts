import {
  BackstageCredentials,
  HttpAuthService,
  LoggerService,
} from '@backstage/backend-plugin-api';
import { InputError, NotFoundError } from '@backstage/errors';
import {
  CiEntityTest,
  CiEntityTestsResponse,
  CiEntityTestTotals,
  CiFailureClass,
  CiRollupTest,
  CiRollupTestsResponse,
  CiRunTestsResponse,
  CiTestResultsAccepted,
} from '@ci-experience/plugin-ci-experience-common';
import { CatalogService } from '@backstage/plugin-catalog-node';
import { z } from 'zod';
import { CiSyncService } from '../service/CiSyncService';
import { EntityResolver } from '../service/EntityResolver';
import { FlakyPolicy, judgeTests, TestOverWindow } from '../testResults/flaky';
import { QuarantineStore } from '../testResults/QuarantineStore';
import { Entity, stringifyEntityRef } from '@backstage/catalog-model';
import { parseQuery, single } from './query';
import { membersOf } from './insights';
import express from 'express';
import Router from 'express-promise-router';
import { StoredRun } from '../database/CiStore';
import { JunitError, JunitLimits } from '../testResults/junit';
import {
  readReports,
  ReportMediaType,
  ZipLimits,
} from '../testResults/reports';
import { TestResultsStore } from '../testResults/TestResultsStore';

/** The largest upload taken: a JUnit file or a zip of them. */
export const MAX_TEST_RESULTS_BYTES = 50 * 1024 * 1024;

/** An error the error handler answers with its `status`. */
class StatusError extends Error {
  constructor(readonly status: number, name: string, message: string) {
    super(message);
    this.name = name;
  }
}

const MEDIA_TYPES: Record<string, ReportMediaType> = {
  'application/xml': 'application/xml',
  'text/xml': 'application/xml',
  'application/zip': 'application/zip',
  'application/x-zip-compressed': 'application/zip',
};

/** A query parameter given once, as text. */
function queryValue(req: express.Request, name: string): string | undefined {
  const value = req.query[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') {
    throw new InputError(`${name} must be given once`);
  }
  return value;
}

function positiveInteger(name: string, value: string | undefined) {
  if (value === undefined) return undefined;
  if (!/^[1-9]\d{0,9}$/.test(value) || Number(value) > 2 ** 31 - 1) {
    throw new InputError(`${name} must be a positive integer`);
  }
  return Number(value);
}

/**
 * `POST /test-results`: a CI step posts its JUnit XML (or a zip of them)
 * for a run the portal knows, with service credentials (a static token of
 * `backend.auth.externalAccess`). The answer comes after the results are
 * committed: 202 with the run attempt and the number of tests; 400 for a
 * malformed report or query, 404 for an unknown run, 413 past a limit, 415
 * for another media type, 503 when the database could not take them (so
 * that a 2xx never hides lost results).
 */
export function createTestResultsUploadRouter(options: {
  httpAuth: HttpAuthService;
  store: Pick<TestResultsStore, 'findRun' | 'putResults'>;
  logger: LoggerService;
  limits?: Partial<JunitLimits & ZipLimits>;
  maxBytes?: number;
  now?: () => Date;
}) {
  const { httpAuth, store, logger } = options;
  const now = options.now ?? (() => new Date());
  const router = Router();
  const raw = express.raw({
    type: () => true,
    limit: options.maxBytes ?? MAX_TEST_RESULTS_BYTES,
  });
  router.post(
    '/test-results',
    async (req, _res, next) => {
      // Credentials before the body is read: an anonymous upload is not
      // buffered.
      await httpAuth.credentials(req, { allow: ['service'] });
      next();
    },
    (req, res, next) =>
      raw(req, res, error => {
        if (error && (error as { status?: number }).status === 413) {
          next(
            new StatusError(
              413,
              'PayloadTooLargeError',
              `Test results are limited to ${
                options.maxBytes ?? MAX_TEST_RESULTS_BYTES
              } bytes`,
            ),
          );
          return;
        }
        next(error);
      }),
    async (req, res) => {
      const provider = queryValue(req, 'provider');
      const source = queryValue(req, 'source');
      if (!provider || !source) {
        throw new InputError('provider and source are required');
      }
      const runNumber = positiveInteger(
        'runNumber',
        queryValue(req, 'runNumber'),
      );
      if (runNumber === undefined) {
        throw new InputError('runNumber is required');
      }
      const attempt = positiveInteger('attempt', queryValue(req, 'attempt'));
      const type = (req.headers['content-type'] ?? '')
        .split(';')[0]
        .trim()
        .toLowerCase();
      const mediaType = Object.prototype.hasOwnProperty.call(MEDIA_TYPES, type)
        ? MEDIA_TYPES[type]
        : undefined;
      if (!mediaType) {
        throw new StatusError(
          415,
          'UnsupportedMediaTypeError',
          `Test results must be application/xml or application/zip, got "${
            type || 'none'
          }"`,
        );
      }
      const run = await store.findRun({ provider, source, runNumber, attempt });
      if (!run) {
        throw new NotFoundError(
          `No run ${runNumber}${
            attempt ? ` attempt ${attempt}` : ''
          } of ${provider} ${source}`,
        );
      }
      const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      let cases;
      try {
        cases = await readReports(body, mediaType, options.limits);
      } catch (error) {
        if (error instanceof JunitError) {
          logger.warn(
            `Refused test results for ${provider} ${source} run ${runNumber}: ${error.message}`,
          );
          if (error.kind === 'too-large') {
            throw new StatusError(413, 'PayloadTooLargeError', error.message);
          }
          throw new InputError(error.message);
        }
        throw error;
      }
      let tests: number;
      try {
        tests = await store.putResults(run, cases, now().toISOString());
      } catch (error) {
        logger.error(
          `Could not store test results for ${provider} ${source} run ${runNumber}`,
          error as Error,
        );
        res.setHeader('retry-after', '30');
        throw new StatusError(
          503,
          'ServiceUnavailableError',
          'The test results could not be stored; send them again',
        );
      }
      const answer: CiTestResultsAccepted = { runId: run.id, tests };
      res.status(202).json(answer);
    },
  );
  return router;
}

/** Results of a test shown on a run page: the last 30. */
const HISTORY_LENGTH = 30;
/** Failed tests whose messages are matched against the triage rules. */
const MAX_GUIDED = 200;

/**
 * `GET /runs/{id}/tests`: a visible run attempt's tests, failed first, each
 * with its last results in the run's workflow, whether it is quarantined,
 * and (failed ones) the guide of the failure class its message matches.
 */
export function createRunTestsRouter(options: {
  httpAuth: HttpAuthService;
  store: Pick<TestResultsStore, 'listRunTests' | 'recentResults'>;
  visibleRun(id: string, credentials: BackstageCredentials): Promise<StoredRun>;
  quarantines?: Pick<QuarantineStore, 'listForSources'>;
  /** The triage rules' class of a failure message, when one matches. */
  classify?: (message: string) => CiFailureClass;
  now?: () => Date;
}) {
  const router = Router();
  router.get('/runs/:id/tests', async (req, res) => {
    const credentials = await options.httpAuth.credentials(req, {
      allow: ['user', 'service'],
    });
    const run = await options.visibleRun(req.params.id, credentials);
    const items = await options.store.listRunTests(run.id);
    const [history, quarantines] = await Promise.all([
      options.store.recentResults(
        run,
        items.map(t => t.id),
        HISTORY_LENGTH,
      ),
      options.quarantines?.listForSources(
        [run.sourceKey],
        (options.now?.() ?? new Date()).toISOString(),
      ) ?? [],
    ]);
    const quarantined = new Set(quarantines.map(q => q.testId));
    let guided = 0;
    for (const test of items) {
      const past = history.get(test.id);
      if (past && past.length > 0) test.history = past;
      if (quarantined.has(test.id)) test.quarantined = true;
      if (
        options.classify &&
        test.message &&
        (test.status === 'failed' || test.status === 'error') &&
        guided < MAX_GUIDED
      ) {
        guided += 1;
        const failure = options.classify(test.message);
        if (failure.guide && failure.id !== 'unknown') {
          test.guide = {
            id: failure.id,
            title: failure.title,
            url: failure.guide,
          };
        }
      }
    }
    const body: CiRunTestsResponse = { items };
    res.json(body);
  });
  return router;
}

const WINDOW_DAYS = { '7d': 7, '30d': 30, '90d': 90 } as const;
const STATES = ['flaky', 'broken', 'fixed', 'stable'] as const;

/** The query of `GET /entities/{kind}/{namespace}/{name}/tests`. */
export const entityTestsQuery = z
  .object({
    window: single('window').pipe(
      z
        .enum(['7d', '30d', '90d'], {
          errorMap: () => ({ message: 'window must be one of 7d, 30d, 90d' }),
        })
        .optional(),
    ),
    state: single('state').pipe(
      z
        .enum(STATES, {
          errorMap: () => ({
            message: `state must be one of ${STATES.join(', ')}`,
          }),
        })
        .optional(),
    ),
  })
  .strict();

/** What the views of an entity's or a team's tests read. */
export type TestViewOptions = {
  httpAuth: HttpAuthService;
  catalog: CatalogService;
  sync: Pick<CiSyncService, 'sourcesOf'>;
  store: Pick<TestResultsStore, 'aggregateTests'>;
  quarantines?: Pick<QuarantineStore, 'listForEntity'>;
  /** The entity's flaky policy; default the built-in one. */
  policyOf?: (entity: Entity) => FlakyPolicy;
  now?: () => Date;
};

/**
 * `GET /entities/{kind}/{namespace}/{name}/tests?window=&state=`: the
 * entity's tests over the window (default 30d), flaky first, each with
 * its state, attempts, failures, flake rate, time lost and mean duration;
 * with the window's totals and the previous window's, for the trend.
 */
export function createEntityTestsRouter(options: TestViewOptions) {
  const entities = new EntityResolver(options.catalog);
  const now = options.now ?? (() => new Date());
  const router = Router();
  router.get('/entities/:kind/:namespace/:name/tests', async (req, res) => {
    const query = parseQuery(entityTestsQuery, req.query);
    const credentials = await options.httpAuth.credentials(req, {
      allow: ['user', 'service'],
    });
    const { kind, namespace, name } = req.params;
    const entity = await entities.get({ kind, namespace, name }, credentials);
    if (!entity) {
      throw new NotFoundError(`No entity ${kind}:${namespace}/${name}`);
    }
    const policy = options.policyOf?.(entity);
    const days = WINDOW_DAYS[query.window ?? '30d'];
    const to = now();
    const since = new Date(to.getTime() - days * 24 * 3600_000);
    const before = new Date(since.getTime() - days * 24 * 3600_000);
    const sourceKeys = options.sync.sourcesOf(entity).map(s => s.key);
    const [summaries, previousSummaries, quarantines] = await Promise.all([
      options.store.aggregateTests({
        sourceKeys,
        since: since.toISOString(),
      }),
      options.store.aggregateTests({
        sourceKeys,
        since: before.toISOString(),
        until: since.toISOString(),
      }),
      options.quarantines?.listForEntity(
        stringifyEntityRef(entity),
        to.toISOString(),
      ) ?? [],
    ]);
    const quarantined = new Set(quarantines.map(q => q.testId));
    const current = judgeTests(summaries, policy);
    const items: CiEntityTest[] = current
      .filter(t => !query.state || t.state === query.state)
      .map(t => entityTestOf(t, quarantined.has(t.id)));
    const body: CiEntityTestsResponse = {
      items,
      window: { from: since.toISOString(), to: to.toISOString() },
      totals: totalsOf(current),
      previous: totalsOf(judgeTests(previousSummaries, policy)),
    };
    res.json(body);
  });
  return router;
}

/** A test over the window as the API answers it. */
export function entityTestOf(
  t: TestOverWindow,
  quarantined: boolean,
): CiEntityTest {
  const test: CiEntityTest = {
    id: t.id,
    suite: t.suite,
    name: t.name,
    state: t.state,
    runs: t.runs,
    failures: t.failures,
    flakeRate: t.flakeRate,
    timeLostMs: t.timeLostMs,
    quarantined,
  };
  if (t.meanDurationMs !== undefined) test.meanDurationMs = t.meanDurationMs;
  return test;
}

/** A window's figures: tests by state, failures and time lost. */
export function totalsOf(tests: TestOverWindow[]): CiEntityTestTotals {
  const count = (state: string) => tests.filter(t => t.state === state).length;
  return {
    tests: tests.length,
    flaky: count('flaky'),
    broken: count('broken'),
    runs: tests.reduce((n, t) => n + t.runs, 0),
    failures: tests.reduce((n, t) => n + t.failures, 0),
    timeLostMs: tests.reduce((n, t) => n + t.timeLostMs, 0),
  };
}

/** The query of a roll-up's tests. */
export const rollupTestsQuery = z
  .object({
    window: single('window').pipe(
      z
        .enum(['7d', '30d', '90d'], {
          errorMap: () => ({ message: 'window must be one of 7d, 30d, 90d' }),
        })
        .optional(),
    ),
  })
  .strict();

/** Flaky tests answered at most by a team's or a system's roll-up. */
const MAX_ROLLUP_TESTS = 500;

/**
 * `GET /groups/{namespace}/{name}/tests?window=` and
 * `GET /systems/{namespace}/{name}/tests?window=`: the flaky tests of every
 * component the group owns or the system holds, worst first (time lost,
 * then flake rate), each with its component.
 */
export function createRollupTestsRouter(options: TestViewOptions) {
  const entities = new EntityResolver(options.catalog);
  const now = options.now ?? (() => new Date());
  const router = Router();
  const rollup = async (
    req: express.Request,
    res: express.Response,
    kind: 'group' | 'system',
  ) => {
    const query = parseQuery(rollupTestsQuery, req.query);
    const credentials = await options.httpAuth.credentials(req, {
      allow: ['user', 'service'],
    });
    const { namespace, name } = req.params;
    const owner = await entities.get({ kind, namespace, name }, credentials);
    if (!owner) {
      throw new NotFoundError(`No ${kind} ${kind}:${namespace}/${name}`);
    }
    const members = await membersOf(
      options.catalog,
      kind,
      stringifyEntityRef(owner),
      credentials,
    );
    const days = WINDOW_DAYS[query.window ?? '30d'];
    const to = now();
    const since = new Date(to.getTime() - days * 24 * 3600_000).toISOString();
    const items: CiRollupTest[] = [];
    // A few components at a time: each is one grouped query.
    for (let i = 0; i < members.length; i += 4) {
      const batch = await Promise.all(
        members.slice(i, i + 4).map(async entity => {
          const entityRef = stringifyEntityRef(entity);
          const sourceKeys = options.sync.sourcesOf(entity).map(s => s.key);
          if (sourceKeys.length === 0) return [];
          const [summaries, quarantines] = await Promise.all([
            options.store.aggregateTests({
              sourceKeys,
              since,
              failingOnly: true,
            }),
            options.quarantines?.listForEntity(entityRef, to.toISOString()) ??
              [],
          ]);
          const quarantined = new Set(quarantines.map(q => q.testId));
          return judgeTests(summaries, options.policyOf?.(entity))
            .filter(t => t.state === 'flaky')
            .map(t => ({
              entityRef,
              ...entityTestOf(t, quarantined.has(t.id)),
            }));
        }),
      );
      items.push(...batch.flat());
    }
    items.sort(
      (a, b) =>
        b.timeLostMs - a.timeLostMs ||
        b.flakeRate - a.flakeRate ||
        a.entityRef.localeCompare(b.entityRef) ||
        a.name.localeCompare(b.name),
    );
    const body: CiRollupTestsResponse = {
      items: items.slice(0, MAX_ROLLUP_TESTS),
      entities: members.length,
    };
    res.json(body);
  };
  router.get('/groups/:namespace/:name/tests', (req, res) =>
    rollup(req, res, 'group'),
  );
  router.get('/systems/:namespace/:name/tests', (req, res) =>
    rollup(req, res, 'system'),
  );
  return router;
}
