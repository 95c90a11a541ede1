import { Entity } from '@backstage/catalog-model';
import {
  AuditorService,
  CacheService,
  HttpAuthService,
  HttpRouterService,
  LoggerService,
  PermissionsService,
} from '@backstage/backend-plugin-api';
import { Config } from '@backstage/config';
import { CiProvider } from '@ci-experience/plugin-ci-experience-node';
import { CatalogService } from '@backstage/plugin-catalog-node';
import express from 'express';
import { createOpenApiRouter } from './schema/openapi';
import { CiStore } from './database/CiStore';
import { createRunDetailRouter, LogLimits } from './routes/runDetail';
import { createRunsRouter } from './routes/runs';
import { createInsightsRouter } from './routes/insights';
import { createAlertsRouter } from './routes/alerts';
import { createAdminRouter } from './routes/admin';
import { InsightsService } from './insights';
import { BranchAllowList } from './service/BranchAllowList';
import { CiSyncService } from './service/CiSyncService';
import { ListingCache } from './service/ListingCache';
import { SourceClaims } from './service/SourceClaims';
import {
  CiJobLog,
  CiFailureClass,
  CiRunsResponse,
} from '@ci-experience/plugin-ci-experience-common';
import { JobLogReader } from './service/JobLogReader';
import { OperatorStatus } from './service/OperatorStatus';
import { createWebhooksRouter, WebhookIngress } from './routes/webhooks';
import {
  createEntityTestsRouter,
  createRollupTestsRouter,
  createTestResultsUploadRouter,
} from './routes/testResults';
import { FlakyPolicy } from './testResults/flaky';
import { createQuarantineRouter } from './routes/quarantine';
import { QuarantineStore } from './testResults/QuarantineStore';
import { TestResultsStore } from './testResults/TestResultsStore';

/** The plugin's HTTP API, split by resource under `src/routes/`. */
export function createRouter(options: {
  httpAuth: HttpAuthService;
  catalog: CatalogService;
  store: CiStore;
  sync: CiSyncService;
  logger: LoggerService;
  listings: ListingCache<CiRunsResponse>;
  branchAllowList?: BranchAllowList;
  permissions: PermissionsService;
  auditor: AuditorService;
  providers: CiProvider[];
  logLimits?: Partial<LogLimits>;
  claims: SourceClaims;
  /** Service principals that may rerun and cancel (see runDetail). */
  allowedServices?: string[];
  logReader?: JobLogReader<CiJobLog>;
  /** Insights routes; absent, they are not served. */
  insights?: InsightsService;
  /** Alerts routes; absent, they are not served. */
  alerts?: Omit<
    Parameters<typeof createAlertsRouter>[0],
    'httpAuth' | 'catalog' | 'permissions' | 'auditor' | 'logger'
  >;
  /** The operator's view (`/admin/status`); absent, it is not served. */
  operatorStatus?: OperatorStatus;
  /** Test results (`/runs/:id/tests`, an entity's tests); absent, not served. */
  testResults?: TestResultsStore;
  /** How an entity's tests are judged flaky (config's policy, or its own annotation's). */
  flakyPolicyOf?: (entity: Entity) => FlakyPolicy;
  /** Quarantined tests; served with `testResults`. */
  quarantines?: QuarantineStore;
  /** The triage rules' class of a failed test's message (its guide). */
  classifyFailure?: (message: string) => CiFailureClass;
}): express.Router {
  // Generated from src/schema/openapi.yaml (yarn openapi): requests are
  // validated against the spec before the routes' own checks (which keep
  // their precise messages; unknown query parameters are theirs to refuse).
  const router = createOpenApiRouter({
    middleware: [express.json({ limit: '100kb' })],
    validatorOptions: {
      validateRequests: {
        coerceTypes: false,
        allowUnknownQueryParameters: true,
      },
    },
  });
  // The annotations that name CI sources, third-party providers' included:
  // the frontend's "has CI" check.
  router.get('/annotations', async (req, res) => {
    await options.httpAuth.credentials(req, { allow: ['user', 'service'] });
    res.json({ annotations: options.sync.annotations() });
  });
  router.use(createRunsRouter(options));
  router.use(createRunDetailRouter(options));
  if (options.insights) {
    router.use(
      createInsightsRouter({ ...options, insights: options.insights }),
    );
  }
  if (options.alerts) {
    router.use(createAlertsRouter({ ...options, ...options.alerts }));
  }
  if (options.testResults) {
    router.use(
      createEntityTestsRouter({
        ...options,
        store: options.testResults,
        policyOf: options.flakyPolicyOf,
      }),
    );
    router.use(
      createRollupTestsRouter({
        ...options,
        store: options.testResults,
        policyOf: options.flakyPolicyOf,
      }),
    );
    if (options.quarantines) {
      router.use(
        createQuarantineRouter({
          ...options,
          tests: options.testResults,
          quarantines: options.quarantines,
        }),
      );
    }
  }
  if (options.operatorStatus) {
    router.use(
      createAdminRouter({ ...options, operatorStatus: options.operatorStatus }),
    );
  }
  return router;
}

/**
 * Mounts the plugin's routes: the webhooks (signed, not signed-in) and the
 * API of {@link createRouter}, with the log reader and branch allow-lists
 * read from the root config.
 */
export function registerRoutes(
  httpRouter: HttpRouterService,
  options: Omit<
    Parameters<typeof createRouter>[0],
    'logReader' | 'branchAllowList'
  > & {
    rootConfig: Config;
    cache: CacheService;
    ingresses: WebhookIngress[];
  },
): void {
  const { rootConfig, cache, ingresses, ...rest } = options;
  httpRouter.use(createWebhooksRouter({ ingresses, logger: rest.logger }));
  httpRouter.addAuthPolicy({ path: '/webhooks', allow: 'unauthenticated' });
  // Uploads read their body raw (XML or zip), before the JSON API's parser.
  if (rest.testResults) {
    httpRouter.use(
      createTestResultsUploadRouter({
        httpAuth: rest.httpAuth,
        store: rest.testResults,
        logger: rest.logger,
      }),
    );
  }
  httpRouter.use(
    createRouter({
      ...rest,
      logReader: JobLogReader.fromConfig<CiJobLog>(rootConfig, {
        cache,
        logger: rest.logger,
      }),
      branchAllowList: BranchAllowList.fromConfig(rootConfig, rest.logger),
    }),
  );
}
