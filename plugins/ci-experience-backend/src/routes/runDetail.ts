import {
  AuditorService,
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
  CiJobLog,
  CiRunActions,
  CiRunDetail,
} from '@ci-experience/plugin-ci-experience-common';
import {
  CiProvider,
  CiRunRef,
  CiSource,
} from '@ci-experience/plugin-ci-experience-node';
import express from 'express';
import Router from 'express-promise-router';
import { z } from 'zod';
import { CiStore, StoredRun } from '../database/CiStore';
import { CiSyncService } from '../service/CiSyncService';
import { EntityResolver } from '../service/EntityResolver';
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

/** What a provider lets the portal do with a run. */
export function actionsOf(provider: CiProvider | undefined): CiRunActions {
  const declared = provider?.capabilities ?? {};
  return {
    logs: !!provider?.getJobLog && declared.logs !== false,
    rerun: !!provider?.rerun && declared.rerun !== false,
    rerunFailed: !!provider?.rerun && declared.rerunFailed === true,
    cancel: !!provider?.cancel && declared.cancel !== false,
  };
}

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
 * the provider, never stored), and
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
}): express.Router {
  const { httpAuth, permissions, auditor, store, sync, logger } = options;
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
  const router = Router();

  const loadRun = async (id: string) => {
    if (!RUN_ID.test(id)) {
      throw new InputError('Invalid run id');
    }
    const run = await store.getRun(id);
    if (!run) {
      throw new NotFoundError(`No run ${id}`);
    }
    return run;
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

  router.get('/runs/:id', async (req, res) => {
    await httpAuth.credentials(req, { allow: ['user', 'service'] });
    const run = await loadRun(req.params.id);
    const attempts = await store.listAttempts(run.sourceKey, run.providerRunId);
    const { sourceKey, providerRunId, providerUpdatedAt, ...model } = run;
    const body: CiRunDetail = {
      ...model,
      jobs: run.jobs ?? [],
      attempts: attempts.map(a => ({
        id: a.id,
        attempt: a.attempt,
        status: a.status,
        ...(a.startedAt ? { startedAt: a.startedAt } : {}),
        ...(a.finishedAt ? { finishedAt: a.finishedAt } : {}),
        ...(a.durationMs !== undefined ? { durationMs: a.durationMs } : {}),
        ...(a.failure ? { failure: a.failure } : {}),
      })),
      actions: actionsOf(providers.get(run.provider)),
    };
    res.json(body);
  });

  router.get('/runs/:id/jobs/:jobId/log', async (req, res) => {
    await httpAuth.credentials(req, { allow: ['user', 'service'] });
    const { jobId } = req.params;
    if (!isJobId(jobId)) {
      throw new InputError('Invalid job id');
    }
    const run = await loadRun(req.params.id);
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
    const log = await provider.getJobLog(
      await sourceOf(run),
      runRef(run),
      jobId,
    );
    if (!log) {
      throw new NotFoundError(
        `${run.provider} has no log for job ${job.name} of run ${run.id}`,
      );
    }
    const tail = logTail(log.text, limits);
    const body: CiJobLog = {
      text: tail.text,
      truncated: tail.truncated || !!log.truncated,
      ...(log.totalBytes !== undefined ? { totalBytes: log.totalBytes } : {}),
      ...(log.url || job.url ? { url: log.url ?? job.url } : {}),
    };
    // Plain text in JSON: the browser renders it as text, never as markup.
    res.setHeader('Cache-Control', 'private, max-age=5');
    res.json(body);
  });

  const act =
    (action: 'rerun' | 'cancel') =>
    async (req: express.Request, res: express.Response) => {
      const credentials = await httpAuth.credentials(req, {
        allow: ['user', 'service'],
      });
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
      const { kind, namespace, name } = req.params;
      const entity = await entities.get({ kind, namespace, name }, credentials);
      if (!entity) {
        throw new NotFoundError(`No entity ${kind}:${namespace}/${name}`);
      }
      const entityRef = stringifyEntityRef(entity);
      const run = await loadRun(req.params.id);
      const event = await auditor.createEvent({
        eventId: action === 'rerun' ? 'run-rerun' : 'run-cancel',
        severityLevel: 'medium',
        request: req,
        meta: {
          entityRef,
          runId: run.id,
          provider: run.provider,
          source: run.source,
          providerRunId: run.providerRunId,
          attempt: run.attempt,
          ...(action === 'rerun' ? { failedOnly } : {}),
        },
      });
      try {
        // The run must be one the entity shows: no acting on others' runs
        // through an entity one may act on.
        if (!sync.sourcesOf(entity).some(s => s.key === run.sourceKey)) {
          throw new NotFoundError(`Run ${run.id} is not one of ${entityRef}'s`);
        }
        const [decision] = await permissions.authorize(
          [{ permission: ciRunExecutePermission, resourceRef: entityRef }],
          { credentials },
        );
        if (decision.result !== AuthorizeResult.ALLOW) {
          throw new NotAllowedError(
            `You may not ${action} runs of ${entityRef}`,
          );
        }
        const provider = providers.get(run.provider);
        const can = actionsOf(provider);
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
        await event.success();
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
        await event.fail({ error: error as Error });
        throw error;
      }
    };

  router.post('/entities/:kind/:namespace/:name/runs/:id/rerun', act('rerun'));
  router.post(
    '/entities/:kind/:namespace/:name/runs/:id/cancel',
    act('cancel'),
  );

  return router;
}
