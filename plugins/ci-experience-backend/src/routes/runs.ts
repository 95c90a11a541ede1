import { HttpAuthService } from '@backstage/backend-plugin-api';
import { Entity, stringifyEntityRef } from '@backstage/catalog-model';
import { NotFoundError } from '@backstage/errors';
import { CatalogService } from '@backstage/plugin-catalog-node';
import {
  matchesWorkflowPattern,
  readWorkflowPatterns,
  PROVIDER_ANNOTATIONS,
  CI_RUN_STATUSES,
  CiRunStatus,
  CiRunsResponse,
  CiSourceState,
} from '@ci-experience/plugin-ci-experience-common';
import { LoggerService } from '@backstage/backend-plugin-api';
import express from 'express';
import Router from 'express-promise-router';
import { z } from 'zod';
import { CiStore } from '../database/CiStore';
import { CiSyncService } from '../service/CiSyncService';
import { BranchAllowList } from '../service/BranchAllowList';
import { EntityResolver } from '../service/EntityResolver';
import { ListingCache } from '../service/ListingCache';
import { SourceClaims } from '../service/SourceClaims';
import { filterName, parseQuery, single } from './query';

export const runsQuery = z
  .object({
    branch: single('branch').pipe(filterName.optional()),
    workflow: single('workflow').pipe(filterName.optional()),
    branchScope: single('branchScope').pipe(
      z
        .enum(['all', 'allowed', 'default'], {
          errorMap: () => ({
            message: 'branchScope must be all, allowed or default',
          }),
        })
        .optional(),
    ),
    attempts: single('attempts').pipe(
      z
        .enum(['latest', 'all'], {
          errorMap: () => ({ message: 'attempts must be latest or all' }),
        })
        .optional(),
    ),
    cursor: single('cursor').pipe(
      z
        .string()
        .min(1)
        .max(1024)
        .regex(/^[A-Za-z0-9_-]+$/, 'Invalid cursor')
        .optional(),
    ),
    limit: single('limit').pipe(
      z
        .string()
        .regex(/^\d+$/, 'limit must be a whole number from 1 to 100')
        .transform(Number)
        .pipe(
          z
            .number()
            .min(1, 'limit must be 1 to 100')
            .max(100, 'limit must be 1 to 100'),
        )
        .optional(),
    ),
    provider: z
      .union([z.string(), z.array(z.string())])
      .optional()
      .transform(v =>
        [v ?? []]
          .flat()
          .flatMap(p => p.split(','))
          .map(p => p.trim())
          .filter(Boolean),
      )
      .pipe(
        z.array(
          z
            .string()
            .regex(/^[a-z0-9-]{1,64}$/, 'provider must be a provider id'),
        ),
      ),
    status: z
      .union([z.string(), z.array(z.string())])
      .optional()
      .transform(v =>
        [v ?? []]
          .flat()
          .flatMap(s => s.split(','))
          .map(s => s.trim())
          .filter(Boolean),
      )
      .pipe(
        z.array(
          z.enum(CI_RUN_STATUSES as [CiRunStatus, ...CiRunStatus[]], {
            errorMap: () => ({
              message: `status must be one of ${CI_RUN_STATUSES.join(', ')}`,
            }),
          }),
        ),
      ),
  })
  .strict();

/**
 * Sources the entity names for providers this portal has not configured:
 * said so in the answer, not an error.
 */
function notConfiguredSources(
  entity: Entity,
  installed: string[],
): CiSourceState[] {
  const annotations = entity.metadata.annotations ?? {};
  return Object.entries(PROVIDER_ANNOTATIONS)
    .filter(([provider]) => !installed.includes(provider))
    .flatMap(([provider, names]) =>
      names
        .filter(name => annotations[name]?.trim())
        .map(name => ({
          provider,
          source: annotations[name].trim(),
          syncing: false,
          notConfigured: `The ${provider} provider is not configured in this portal, so ${name} is not synced`,
        })),
    );
}

/** `GET /entities/:kind/:namespace/:name/runs`. */
export function createRunsRouter(options: {
  httpAuth: HttpAuthService;
  catalog: CatalogService;
  store: CiStore;
  sync: CiSyncService;
  logger: LoggerService;
  listings: ListingCache<CiRunsResponse>;
  /** Per-entity branch allow-lists from config; default none. */
  branchAllowList?: BranchAllowList;
  /** Where a listing notes which sources its entity claims. */
  claims: SourceClaims;
}): express.Router {
  const { httpAuth, catalog, store, sync, logger, listings, claims } = options;
  const branchAllowList = options.branchAllowList ?? BranchAllowList.empty();
  const router = Router();
  const entities = new EntityResolver(catalog);

  router.get('/entities/:kind/:namespace/:name/runs', async (req, res) => {
    const query = parseQuery(runsQuery, req.query);
    const credentials = await httpAuth.credentials(req, {
      allow: ['user', 'service'],
    });
    const { kind, namespace, name } = req.params;
    const entity = await entities.get({ kind, namespace, name }, credentials);
    if (!entity) {
      throw new NotFoundError(`No entity ${kind}:${namespace}/${name}`);
    }
    const entityRef = stringifyEntityRef(entity);
    const { allowed: sources, refused } = sync.resolveSources(entity);
    const sourceKeys = sources.map(s => s.key);
    const workflows = readWorkflowPatterns(entity);
    const patterns = workflows.patterns;
    const allowedBranches = branchAllowList.patternsFor(entityRef);
    // Only the validated fields: an unknown parameter is a 400, never a
    // new cache entry.
    const cacheKey = JSON.stringify([
      entityRef,
      sourceKeys,
      refused.map(r => r.source.key),
      patterns,
      workflows.error,
      allowedBranches,
      [
        query.branch,
        query.workflow,
        query.branchScope,
        query.attempts,
        query.cursor,
        query.limit,
        query.provider,
        query.status,
      ],
    ]);
    // Viewers asking at once for an answer not kept share one load.
    const json = await listings.load(cacheKey, sourceKeys, async () => {
      // Before the first sync, so that the source's webhooks are accepted.
      await claims.note(entityRef, sourceKeys);
      const stored = await store.getSources(sourceKeys);

      const now = new Date().toISOString();
      // Under way here, or on another replica that holds the source's lease.
      const syncing = (key: string) =>
        sync.isSyncing(key) || (stored.get(key)?.syncLeaseUntil ?? '') > now;

      // A source never synced gets one sync now; the answer says it is under way.
      for (const source of sources) {
        if (!stored.get(source.key)?.lastAttemptAt && !syncing(source.key)) {
          sync
            .sync(source, entityRef)
            .catch(error =>
              logger.error(
                `Sync of ${source.source} for ${entityRef} crashed`,
                error,
              ),
            );
        }
      }

      // In a monorepo, an entity sees only the workflows it names as its own;
      // patterns beyond the limits name none.
      let workflowScope: { names: string[]; paths: string[] } | undefined;
      if (workflows.error) {
        workflowScope = { names: [], paths: [] };
      } else if (patterns) {
        const known = await store.listWorkflows(sourceKeys);
        workflowScope = {
          names: known
            .filter(k => matchesWorkflowPattern(k.workflow, patterns))
            .map(k => k.workflow),
          paths: known
            .filter(
              k =>
                k.workflowPath &&
                matchesWorkflowPattern(k.workflowPath, patterns),
            )
            .map(k => k.workflowPath!),
        };
      }
      // Branch noise: `branchScope=allowed` keeps the entity's allow-listed
      // branches; without it, every branch (the allow-list only narrows).
      let branchScope: string[] | undefined;
      if (query.branchScope === 'allowed' && allowedBranches) {
        branchScope = (await store.listBranches(sourceKeys)).filter(b =>
          matchesWorkflowPattern(b, allowedBranches),
        );
      }
      const page = await store.listRuns({
        sourceKeys,
        workflowScope,
        branchScope,
        providers: query.provider.length ? query.provider : undefined,
        // Each source's runs on its own default branch, not the first's.
        defaultBranches:
          query.branchScope === 'default'
            ? new Map(
                sourceKeys.flatMap(key => {
                  const branch = stored.get(key)?.defaultBranch;
                  return branch ? [[key, branch] as [string, string]] : [];
                }),
              )
            : undefined,
        allAttempts: query.attempts === 'all',
        branch: query.branch,
        workflow: query.workflow,
        statuses: query.status,
        limit: query.limit ?? 25,
        cursor: query.cursor,
      });
      const states: CiSourceState[] = sources.map(source => {
        const known = stored.get(source.key);
        return {
          provider: source.provider,
          source: source.source,
          syncing: syncing(source.key),
          ...(known?.lastSyncedAt ? { lastSyncedAt: known.lastSyncedAt } : {}),
          ...(known?.defaultBranch
            ? { defaultBranch: known.defaultBranch }
            : {}),
          ...(known?.error ? { error: known.error } : {}),
          ...(workflows.error
            ? { error: { name: 'InputError', message: workflows.error } }
            : {}),
        };
      });
      // Refused by the source policy: said so, never synced, no runs.
      for (const { source, error } of refused) {
        states.push({
          provider: source.provider,
          source: source.source,
          syncing: false,
          error,
        });
      }
      states.push(...notConfiguredSources(entity, sync.providerIds()));
      const body: CiRunsResponse = {
        items: page.items,
        ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}),
        sources: states,
        ...(allowedBranches ? { allowedBranches } : {}),
      };
      return body;
    });
    res.type('application/json').send(json);
  });

  return router;
}
