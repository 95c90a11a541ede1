import {
  BackstageCredentials,
  HttpAuthService,
} from '@backstage/backend-plugin-api';
import { Entity, stringifyEntityRef } from '@backstage/catalog-model';
import { InputError, NotFoundError } from '@backstage/errors';
import { CatalogService } from '@backstage/plugin-catalog-node';
import {
  CI_INSIGHTS_WINDOWS,
  CiInsightsWindow,
} from '@ci-experience/plugin-ci-experience-common';
import express from 'express';
import Router from 'express-promise-router';
import { z } from 'zod';
import {
  InsightsService,
  InsightsWindowInput,
  workflowScopeOf,
} from '../insights';
import { CiSyncService } from '../service/CiSyncService';
import { EntityResolver } from '../service/EntityResolver';
import { filterName, parseQuery, single } from './query';

const MAX_CUSTOM_DAYS = 366;

const windowEnum = z.enum(CI_INSIGHTS_WINDOWS as unknown as [string], {
  errorMap: () => ({
    message: `window must be one of ${CI_INSIGHTS_WINDOWS.join(', ')}`,
  }),
});

const isoTime = (name: string) =>
  z
    .string()
    .regex(
      /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/,
      `${name} must be an ISO 8601 date or time`,
    )
    .refine(v => !Number.isNaN(Date.parse(v)), {
      message: `${name} must be a valid date`,
    });

export const entityQuery = z
  .object({
    window: single('window').pipe(windowEnum.optional()),
    from: single('from').pipe(isoTime('from').optional()),
    to: single('to').pipe(isoTime('to').optional()),
    workflow: single('workflow').pipe(filterName.optional()),
    branch: z
      .union([z.string(), z.array(z.string())])
      .optional()
      .transform(v =>
        [v ?? []]
          .flat()
          .flatMap(b => b.split(','))
          .map(b => b.trim())
          .filter(Boolean),
      )
      .pipe(z.array(filterName).max(50, 'branch: at most 50 branches')),
  })
  .passthrough()
  .superRefine((q, ctx) => {
    if ((q.from === undefined) !== (q.to === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: [q.from === undefined ? 'from' : 'to'],
        message: 'from and to must be given together',
      });
      return;
    }
    if (q.from !== undefined && q.window !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['window'],
        message: 'give either window or from and to',
      });
      return;
    }
    if (q.from !== undefined && q.to !== undefined) {
      const from = Date.parse(q.from);
      const to = Date.parse(q.to);
      if (!(from < to)) {
        ctx.addIssue({
          code: 'custom',
          path: ['to'],
          message: 'to must be after from',
        });
      } else if (to - from > MAX_CUSTOM_DAYS * 24 * 3600_000) {
        ctx.addIssue({
          code: 'custom',
          path: ['to'],
          message: `the range may span at most ${MAX_CUSTOM_DAYS} days`,
        });
      }
    }
  });

export const rollupQuery = z
  .object({ window: single('window').pipe(windowEnum.optional()) })
  .passthrough();

const ROLLUP_FIELDS = [
  'kind',
  'metadata.namespace',
  'metadata.name',
  'metadata.title',
  'metadata.annotations',
];

/**
 * `GET /entities/:kind/:namespace/:name/insights`,
 * `GET /groups/:namespace/:name/insights`,
 * `GET /systems/:namespace/:name/insights`.
 */
export function createInsightsRouter(options: {
  httpAuth: HttpAuthService;
  catalog: CatalogService;
  sync: Pick<CiSyncService, 'sourcesOf'>;
  insights: InsightsService;
}): express.Router {
  const { httpAuth, catalog, sync, insights } = options;
  const router = Router();
  const entities = new EntityResolver(catalog);

  const scopeOf = (entity: Entity, sourceKeys: string[]) =>
    workflowScopeOf(insights, entity, sourceKeys);

  router.get('/entities/:kind/:namespace/:name/insights', async (req, res) => {
    const query = parseQuery(entityQuery, req.query);
    const credentials = await httpAuth.credentials(req, {
      allow: ['user', 'service'],
    });
    const { kind, namespace, name } = req.params;
    const entity = await entities.get({ kind, namespace, name }, credentials);
    if (!entity) {
      throw new NotFoundError(`No entity ${kind}:${namespace}/${name}`);
    }
    const sourceKeys = sync.sourcesOf(entity).map(s => s.key);
    const workflowScope = await scopeOf(entity, sourceKeys);
    if (query.workflow !== undefined) {
      const own =
        workflowScope ??
        (await insights.workflowsOf(sourceKeys)).map(k => k.workflow);
      if (!own.includes(query.workflow)) {
        throw new InputError(
          `Invalid query: workflow: ${query.workflow} is not one of the entity's workflows`,
        );
      }
    }
    const window: InsightsWindowInput =
      query.from !== undefined && query.to !== undefined
        ? { from: query.from, to: query.to }
        : { label: (query.window ?? '30d') as CiInsightsWindow };
    res.json(
      await insights.getInsights({
        sourceKeys,
        workflowScope,
        workflow: query.workflow,
        branches: query.branch.length ? query.branch : undefined,
        window,
      }),
    );
  });

  const rollup = async (
    req: express.Request,
    res: express.Response,
    kind: 'group' | 'system',
  ) => {
    const query = parseQuery(rollupQuery, req.query);
    const credentials = await httpAuth.credentials(req, {
      allow: ['user', 'service'],
    });
    const { namespace, name } = req.params;
    const owner = await entities.get({ kind, namespace, name }, credentials);
    if (!owner) {
      throw new NotFoundError(`No ${kind} ${kind}:${namespace}/${name}`);
    }
    const ref = stringifyEntityRef(owner);
    const components = await membersOf(catalog, kind, ref, credentials);
    const items = await Promise.all(
      components.map(async entity => {
        const sourceKeys = sync.sourcesOf(entity).map(s => s.key);
        return {
          entityRef: stringifyEntityRef(entity),
          ...(entity.metadata.title ? { title: entity.metadata.title } : {}),
          sourceKeys,
          workflowScope: await scopeOf(entity, sourceKeys),
        };
      }),
    );
    res.json(
      await insights.getRollup({
        entities: items,
        window: (query.window ?? '30d') as CiInsightsWindow,
      }),
    );
  };
  router.get('/groups/:namespace/:name/insights', (req, res) =>
    rollup(req, res, 'group'),
  );
  router.get('/systems/:namespace/:name/insights', (req, res) =>
    rollup(req, res, 'system'),
  );
  return router;
}

/**
 * Components a group owns (relation ownedBy, or spec.owner naming it) or a
 * system holds (relation partOf, or spec.system naming it).
 */
export async function membersOf(
  catalog: CatalogService,
  kind: 'group' | 'system',
  ref: string,
  credentials: BackstageCredentials,
): Promise<Entity[]> {
  const [, namespace, name] = /^[^:]+:([^/]+)\/(.+)$/.exec(ref) ?? [];
  const names = [ref, `${namespace}/${name}`];
  if (namespace === 'default') {
    names.push(name);
  }
  const field = kind === 'group' ? 'spec.owner' : 'spec.system';
  const relation = kind === 'group' ? 'relations.ownedBy' : 'relations.partOf';
  const { items } = await catalog.getEntities(
    {
      filter: [
        { kind: 'component', [relation]: ref },
        { kind: 'component', [field]: names },
      ],
      fields: ROLLUP_FIELDS,
    },
    { credentials },
  );
  const seen = new Map<string, Entity>();
  for (const entity of items) {
    seen.set(stringifyEntityRef(entity), entity);
  }
  return [...seen.values()];
}
