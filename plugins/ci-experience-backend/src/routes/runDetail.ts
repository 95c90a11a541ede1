import {
  AuditorService,
  BackstageCredentials,
  HttpAuthService,
  LoggerService,
  PermissionsService,
} from '@backstage/backend-plugin-api';
import { stringifyEntityRef } from '@backstage/catalog-model';
import { InputError, NotAllowedError, NotFoundError } from '@backstage/errors';
import { CatalogService } from '@backstage/plugin-catalog-node';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import {
  ciRunExecutePermission,
  CiFailureClass,
  CiJobLog,
  CiRunActions,
  CiRunDetail,
  isFinalStatus,
} from '@ci-experience/plugin-ci-experience-common';
import {
  CiProvider,
  CiProviderCapabilities,
  CiRunRef,
  CiSource,
  boundJobToRun,
} from '@ci-experience/plugin-ci-experience-node';
import { JsonObject } from '@backstage/types';
import express from 'express';
import Router from 'express-promise-router';
import { z } from 'zod';
import { CiStore, StoredRun } from '../database/CiStore';
import { CiSyncService } from '../service/CiSyncService';
import { EntityResolver } from '../service/EntityResolver';
import { TestResultsStore } from '../testResults/TestResultsStore';
import { createRunTestsRouter } from './testResults';
import { QuarantineStore } from '../testResults/QuarantineStore';
import { RunAccess } from '../service/RunAccess';
import { JobLogReader } from '../service/JobLogReader';
import { logTail } from '../service/logTail';

/** What of a job log the backend serves at most. */
export interface LogLimits {
  maxBytes: number;
  maxLines: number;
}

export const DEFAULT_LOG_LIMITS: LogLimits = {
  maxBytes: 1024 * 1024,
  maxLines: 5000,
};

const RUN_ID = /^[A-Za-z0-9_-]{1,64}$/;
/**
 * Job ids are the providers' own (numbers, UUIDs, names with a stage):
 * 1 to 256 characters, no control characters, no slashes.
 */
function isJobId(id: string): boolean {
  return (
    id.length >= 1 &&
    id.length <= 256 &&
    ![...id].some(c => c.charCodeAt(0) < 0x20 || c === '/' || c === '\\')
  );
}

const rerunBody = z
  .object({ failedOnly: z.boolean().optional() })
  .strict()
  .optional();

/**
 * What a provider lets the portal do with a run: what it implements, as its
 * capabilities declare, and as it says of this run (`runActions`).
 */
export function actionsOf(
  provider: CiProvider | undefined,
  ofRun: Partial<CiProviderCapabilities> = {},
): CiRunActions {
  const declared = { ...provider?.capabilities, ...ofRun };
  return {
    logs: !!provider?.getJobLog && declared.logs !== false,
    rerun: !!provider?.rerun && declared.rerun !== false,
    rerunFailed: !!provider?.rerun && declared.rerunFailed === true,
    cancel: !!provider?.cancel && declared.cancel !== false,
    ...(declared.rerunLabel ? { rerunLabel: declared.rerunLabel } : {}),
    ...(declared.rerunFailedLabel
      ? { rerunFailedLabel: declared.rerunFailedLabel }
      : {}),
  };
}

/** Steps a log may give a job: a bounded number, for a job without its own. */
const MAX_LOG_STEPS = 500;

function runRef(run: StoredRun): CiRunRef {
  return {
    providerRunId: run.providerRunId,
    attempt: run.attempt,
    runNumber: run.runNumber,
    workflow: run.workflow,
    url: run.url,
  };
}

/**
 * `GET /runs/:id` (a run with jobs, attempts and actions),
 * `GET /runs/:id/jobs/:jobId/log` (the tail of a job's log, fetched through
 * the provider, never stored), `GET /runs/:id/tests` (its test results), and
 * `POST /entities/:kind/:namespace/:name/runs/:id/{rerun,cancel}`, checked
 * with `ci-experience.run.execute` on the entity and recorded by the auditor.
 */
export function createRunDetailRouter(options: {
  httpAuth: HttpAuthService;
  permissions: PermissionsService;
  auditor: AuditorService;
  catalog: CatalogService;
  store: CiStore;
  sync: CiSyncService;
  providers: CiProvider[];
  logger: LoggerService;
  logLimits?: Partial<LogLimits>;
  /**
   * Service principals (`plugin:<id>`, `external:<subject>`) that may ask
   * for reruns and cancels, still subject to the permission policy; by
   * default none: only people act on runs.
   */
  allowedServices?: string[];
  /** Shares and keeps log reads; without it, each view reads the provider. */
  logReader?: JobLogReader<CiJobLog>;
  /** Serves `GET /runs/:id/tests` (docs/tests.md); absent, it is not served. */
  testResults?: TestResultsStore;
  /** Marks quarantined tests on a run's tests. */
  quarantines?: Pick<QuarantineStore, 'listForSources'>;
  /** Links failed tests to the guide of the failure class their message matches. */
  classifyFailure?: (message: string) => CiFailureClass;
}): express.Router {
  const { httpAuth, permissions, auditor, store, sync, logger } = options;
  const allowedServices = new Set(options.allowedServices ?? []);
  const providers = new Map(options.providers.map(p => [p.id, p]));
  const limit = (key: keyof LogLimits) => {
    const value = options.logLimits?.[key];
    if (value === undefined) {
      return DEFAULT_LOG_LIMITS[key];
    }
    if (!Number.isInteger(value) || value < 1) {
      logger.warn(
        `Ignored ciExperience.logs.${key} ${value}: not a whole number above 0; using ${DEFAULT_LOG_LIMITS[key]}`,
      );
      return DEFAULT_LOG_LIMITS[key];
    }
    return value;
  };
  const limits: LogLimits = {
    maxBytes: limit('maxBytes'),
    maxLines: limit('maxLines'),
  };
  const entities = new EntityResolver(options.catalog);
  const access = new RunAccess({ store, sync, entities });
  const router = Router();

  /** A run the caller may read; unknown and hidden runs are one 404. */
  const visibleRun = async (id: string, credentials: BackstageCredentials) => {
    if (!RUN_ID.test(id)) {
      throw new InputError('Invalid run id');
    }
    return access.visibleRun(id, credentials);
  };

  const sourceOf = async (run: StoredRun): Promise<CiSource> => {
    const stored = (await store.getSources([run.sourceKey])).get(run.sourceKey);
    return {
      provider: run.provider,
      key: run.sourceKey,
      source: stored?.source ?? run.source,
      ...(stored?.host ? { host: stored.host } : {}),
    };
  };

  /**
   * What can be done with this run, asking the provider where it depends
   * on the run or the server; when it cannot say, what it declares.
   */
  const runActionsOf = async (run: StoredRun): Promise<CiRunActions> => {
    const provider = providers.get(run.provider);
    if (!provider?.runActions) {
      return actionsOf(provider);
    }
    try {
      return actionsOf(
        provider,
        await provider.runActions(await sourceOf(run), runRef(run)),
      );
    } catch (error) {
      logger.warn(
        `Could not ask ${run.provider} what can be done with run ${run.id}: ${error}`,
      );
      return actionsOf(provider);
    }
  };

  router.get('/runs/:id', async (req, res) => {
    const credentials = await httpAuth.credentials(req, {
      allow: ['user', 'service'],
    });
    const run = await visibleRun(req.params.id, credentials);
    const attempts = await store.listAttempts(run.sourceKey, run.providerRunId);
    const { sourceKey, providerRunId, providerUpdatedAt, jobsRead, ...model } =
      run;
    const body: CiRunDetail = {
      ...model,
      jobs: run.jobs ?? [],
      ...(isFinalStatus(run.status) && jobsRead === false
        ? { jobsPending: true }
        : {}),
      attempts: attempts.map(a => ({
        id: a.id,
        attempt: a.attempt,
        status: a.status,
        ...(a.startedAt ? { startedAt: a.startedAt } : {}),
        ...(a.finishedAt ? { finishedAt: a.finishedAt } : {}),
        ...(a.durationMs !== undefined ? { durationMs: a.durationMs } : {}),
        ...(a.failure ? { failure: a.failure } : {}),
      })),
      actions: await runActionsOf(run),
    };
    res.json(body);
  });

  router.get('/runs/:id/jobs/:jobId/log', async (req, res) => {
    const credentials = await httpAuth.credentials(req, {
      allow: ['user', 'service'],
    });
    const { jobId } = req.params;
    if (!isJobId(jobId)) {
      throw new InputError('Invalid job id');
    }
    const run = await visibleRun(req.params.id, credentials);
    const job = run.jobs?.find(j => j.id === jobId);
    if (!job) {
      throw new NotFoundError(`Run ${run.id} has no job ${jobId}`);
    }
    const provider = providers.get(run.provider);
    if (!provider?.getJobLog) {
      throw new NotFoundError(
        `The ${run.provider} provider does not serve job logs; see the job at the provider`,
      );
    }
    const serve = async (): Promise<CiJobLog | undefined> => {
      const log = await provider.getJobLog!(
        await sourceOf(run),
        runRef(run),
        jobId,
      );
      if (!log) {
        return undefined;
      }
      if (log.steps?.length && !job.steps?.length) {
        // The job's steps as its log shows them, kept for the run page.
        // Within the job's times, as every stored step is.
        const steps =
          boundJobToRun(
            { ...job, steps: log.steps.slice(0, MAX_LOG_STEPS) },
            run,
          ).steps ?? [];
        await store
          .setJobLogSteps(run.id, jobId, steps)
          .catch(error =>
            logger.warn(
              `Could not keep the steps of job ${jobId} of run ${run.id}: ${error}`,
            ),
          );
      }
      const tail = logTail(log.text, limits);
      return {
        text: tail.text,
        truncated: tail.truncated || !!log.truncated,
        ...(log.totalBytes !== undefined ? { totalBytes: log.totalBytes } : {}),
        ...(log.url || job.url ? { url: log.url ?? job.url } : {}),
      };
    };
    // Read once per finished job, once at a time per job. Both run and job
    // must be over: Jenkins serves one console per build, so a finished
    // stage of a running build still grows.
    const body = options.logReader
      ? await options.logReader.read(
          {
            runId: run.id,
            jobId,
            finished: isFinalStatus(run.status) && isFinalStatus(job.status),
          },
          serve,
        )
      : await serve();
    if (!body) {
      throw new NotFoundError(
        `${run.provider} has no log for job ${job.name} of run ${run.id}`,
      );
    }
    // Plain text in JSON: the browser renders it as text, never as markup.
    res.setHeader('Cache-Control', 'private, max-age=5');
    res.json(body);
  });

  /**
   * Rerun or cancel, in an order that leaks nothing: who may act at all
   * (people; services only when configured), then the entity (404 when
   * the caller cannot see it), then the permission on the entity (403,
   * which says nothing of the run), and only then the run, which must be
   * one the entity shows (else the same 404 as an unknown run).
   */
  const act =
    (action: 'rerun' | 'cancel') =>
    async (req: express.Request, res: express.Response) => {
      const { kind, namespace, name, id } = req.params;
      const event = await auditor.createEvent({
        eventId: action === 'rerun' ? 'run-rerun' : 'run-cancel',
        severityLevel: 'medium',
        request: req,
        meta: { entity: `${kind}:${namespace}/${name}`, runId: id },
      });
      /** What is known of the request when it ends, for the auditor. */
      const meta: JsonObject = {};
      try {
        const credentials = await httpAuth.credentials(req, {
          allow: ['user', 'service'],
        });
        if (
          credentials.principal.type === 'service' &&
          !allowedServices.has(
            (credentials.principal as { subject: string }).subject,
          )
        ) {
          throw new NotAllowedError(
            `Services may not ${action} runs unless ciExperience.actions.allowedServices names them`,
          );
        }
        const body = rerunBody.safeParse(
          req.body && Object.keys(req.body).length > 0 ? req.body : undefined,
        );
        if (!body.success) {
          throw new InputError(
            `Invalid body: ${body.error.issues
              .map(i => `${i.path.join('.') || '(body)'}: ${i.message}`)
              .join('; ')}`,
          );
        }
        if (action === 'cancel' && body.data !== undefined) {
          throw new InputError('Invalid body: cancel takes no body');
        }
        const failedOnly = body.data?.failedOnly ?? false;
        if (action === 'rerun') {
          meta.failedOnly = failedOnly;
        }
        if (!RUN_ID.test(id)) {
          throw new InputError('Invalid run id');
        }
        const entity = await entities.get(
          { kind, namespace, name },
          credentials,
        );
        if (!entity) {
          throw new NotFoundError(`No entity ${kind}:${namespace}/${name}`);
        }
        const entityRef = stringifyEntityRef(entity);
        meta.entityRef = entityRef;
        const [decision] = await permissions.authorize(
          [{ permission: ciRunExecutePermission, resourceRef: entityRef }],
          { credentials },
        );
        if (decision.result !== AuthorizeResult.ALLOW) {
          throw new NotAllowedError(
            `You may not ${action} runs of ${entityRef}`,
          );
        }
        // The run must be one the entity shows: no acting on others' runs
        // through an entity one may act on.
        const run = await store.getRun(id);
        if (
          !run ||
          !sync.sourcesOf(entity).some(s => s.key === run.sourceKey)
        ) {
          throw new NotFoundError(`No run ${id}`);
        }
        Object.assign(meta, {
          provider: run.provider,
          source: run.source,
          providerRunId: run.providerRunId,
          attempt: run.attempt,
        });
        const provider = providers.get(run.provider);
        const can = await runActionsOf(run);
        const source = await sourceOf(run);
        if (action === 'rerun') {
          if (!(failedOnly ? can.rerunFailed : can.rerun)) {
            throw new InputError(
              `${run.provider} runs cannot be rerun${
                failedOnly ? ' for their failed jobs only' : ''
              } from the portal`,
            );
          }
          await provider!.rerun!(source, runRef(run), { failedOnly });
        } else {
          if (!can.cancel) {
            throw new InputError(
              `${run.provider} runs cannot be cancelled from the portal`,
            );
          }
          if (run.status !== 'queued' && run.status !== 'running') {
            throw new InputError(
              `Run ${run.id} has finished: nothing to cancel`,
            );
          }
          await provider!.cancel!(source, runRef(run));
        }
        await event.success({ meta });
        logger.info(
          `${action === 'rerun' ? 'Rerun' : 'Cancel'} of ${run.source} run ${
            run.providerRunId
          } (attempt ${run.attempt}) for ${entityRef} requested`,
        );
        // The new attempt, or the cancelled state, arrives by webhook; a
        // sync now brings it where no webhook is set up.
        sync
          .sync(source, entityRef)
          .catch(error =>
            logger.warn(`Sync after ${action} of ${run.id} failed: ${error}`),
          );
        res.status(202).json({});
      } catch (error) {
        await event.fail({ meta, error: error as Error });
        throw error;
      }
    };

  router.post('/entities/:kind/:namespace/:name/runs/:id/rerun', act('rerun'));
  router.post(
    '/entities/:kind/:namespace/:name/runs/:id/cancel',
    act('cancel'),
  );

  if (options.testResults) {
    router.use(
      createRunTestsRouter({
        httpAuth,
        store: options.testResults,
        visibleRun,
        quarantines: options.quarantines,
        classify: options.classifyFailure,
      }),
    );
  }
  return router;
}
