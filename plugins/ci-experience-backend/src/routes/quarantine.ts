import {
  AuditorService,
  BackstageCredentials,
  HttpAuthService,
  PermissionsService,
} from '@backstage/backend-plugin-api';
import { Entity, stringifyEntityRef } from '@backstage/catalog-model';
import { InputError, NotAllowedError, NotFoundError } from '@backstage/errors';
import { CatalogService } from '@backstage/plugin-catalog-node';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import {
  ciTestQuarantinePermission,
  CiTestQuarantine,
  CiTestQuarantinesResponse,
} from '@ci-experience/plugin-ci-experience-common';
import express from 'express';
import Router from 'express-promise-router';
import { z } from 'zod';
import { CiSyncService } from '../service/CiSyncService';
import { EntityResolver } from '../service/EntityResolver';
import {
  QuarantinedTest,
  QuarantineStore,
} from '../testResults/QuarantineStore';
import { TestResultsStore } from '../testResults/TestResultsStore';
import { parseQuery, single } from './query';

/** The longest a quarantine may last: it must be looked at again. */
export const MAX_QUARANTINE_DAYS = 90;
const DAY = 24 * 3600_000;

const TEST_ID = /^[0-9a-f]{32}$/;

/** The body of `PUT .../tests/{testId}/quarantine`. */
const quarantineInput = z
  .object({
    reason: z.string().trim().min(1).max(500),
    expiresAt: z.string().refine(v => !Number.isNaN(Date.parse(v)), {
      message: 'must be an ISO 8601 time',
    }),
  })
  .strict();

/** The query of `GET /quarantine`. */
export const quarantineQuery = z
  .object({
    source: single('source').pipe(z.string().min(1).max(512)),
    provider: single('provider').pipe(z.string().min(1).max(64).optional()),
    format: single('format').pipe(
      z
        .enum(['json', 'text'], {
          errorMap: () => ({ message: 'format must be json or text' }),
        })
        .optional(),
    ),
  })
  .strict();

function toApi(q: QuarantinedTest): CiTestQuarantine {
  const out: CiTestQuarantine = {
    testId: q.testId,
    entityRef: q.entityRef,
    suite: q.suite,
    name: q.name,
    reason: q.reason,
    expiresAt: q.expiresAt,
    createdBy: q.createdBy,
    createdAt: q.createdAt,
  };
  if (q.classname) out.classname = q.classname;
  if (q.file) out.file = q.file;
  return out;
}

/**
 * Quarantined tests (docs/tests.md):
 *
 * - `GET /entities/{kind}/{namespace}/{name}/quarantine`: the entity's
 *   active quarantines;
 * - `PUT` / `DELETE .../tests/{testId}/quarantine`: an owner quarantines a
 *   test of the entity (with a reason and an expiry at most 90 days away)
 *   or lifts it; checked with `ci-experience.test.quarantine` on the
 *   entity, recorded by the auditor either way;
 * - `GET /quarantine?source=&provider=&format=json|text`: what a CI step
 *   reads to skip or ignore quarantined tests of its source (only those of
 *   entities the caller may see); `text` is one `classname.name` (or name)
 *   per line.
 */
export function createQuarantineRouter(options: {
  httpAuth: HttpAuthService;
  catalog: CatalogService;
  permissions: PermissionsService;
  auditor: AuditorService;
  sync: Pick<CiSyncService, 'sourcesOf'>;
  tests: Pick<TestResultsStore, 'getTest' | 'sourceKeysOf'>;
  quarantines: QuarantineStore;
  now?: () => Date;
}) {
  const { httpAuth, permissions, auditor, quarantines, tests } = options;
  const entities = new EntityResolver(options.catalog);
  const now = options.now ?? (() => new Date());
  const router = Router();

  const entityOf = async (
    req: express.Request,
    credentials: BackstageCredentials,
  ): Promise<Entity> => {
    const { kind, namespace, name } = req.params;
    const entity = await entities.get({ kind, namespace, name }, credentials);
    if (!entity) {
      throw new NotFoundError(`No entity ${kind}:${namespace}/${name}`);
    }
    return entity;
  };

  router.get(
    '/entities/:kind/:namespace/:name/quarantine',
    async (req, res) => {
      const credentials = await httpAuth.credentials(req, {
        allow: ['user', 'service'],
      });
      const entity = await entityOf(req, credentials);
      const items = await quarantines.listForEntity(
        stringifyEntityRef(entity),
        now().toISOString(),
      );
      const body: CiTestQuarantinesResponse = { items: items.map(toApi) };
      res.json(body);
    },
  );

  /** Runs a change under the permission, audited whatever its outcome. */
  const change = async (
    req: express.Request,
    eventId: string,
    fn: (
      entity: Entity,
      credentials: BackstageCredentials<any>,
    ) => Promise<void>,
  ) => {
    const event = await auditor.createEvent({
      eventId,
      severityLevel: 'medium',
      request: req,
      meta: { entity: req.params, testId: req.params.testId },
    });
    try {
      const credentials = await httpAuth.credentials(req, { allow: ['user'] });
      const entity = await entityOf(req, credentials);
      const entityRef = stringifyEntityRef(entity);
      const [decision] = await permissions.authorize(
        [{ permission: ciTestQuarantinePermission, resourceRef: entityRef }],
        { credentials },
      );
      if (decision.result !== AuthorizeResult.ALLOW) {
        throw new NotAllowedError(
          `Only the owners of ${entityRef} may quarantine its tests`,
        );
      }
      await fn(entity, credentials);
      await event.success();
    } catch (error) {
      await event.fail({ error: error as Error });
      throw error;
    }
  };

  /** The entity's test by id: of one of the entity's sources, else 404. */
  const testOf = async (entity: Entity, testId: string) => {
    const test = TEST_ID.test(testId) ? await tests.getTest(testId) : undefined;
    const own = options.sync.sourcesOf(entity).map(s => s.key);
    if (!test || !own.includes(test.sourceKey)) {
      throw new NotFoundError(
        `${stringifyEntityRef(entity)} has no test ${testId}`,
      );
    }
    return test;
  };

  router.put(
    '/entities/:kind/:namespace/:name/tests/:testId/quarantine',
    async (req, res) => {
      await change(req, 'test-quarantine', async (entity, credentials) => {
        const parsed = quarantineInput.safeParse(req.body);
        if (!parsed.success) {
          throw new InputError(
            `Invalid quarantine: ${parsed.error.issues
              .map(i => `${i.path.join('.') || 'body'}: ${i.message}`)
              .join('; ')}`,
          );
        }
        const at = now();
        const expires = Date.parse(parsed.data.expiresAt);
        if (expires <= at.getTime()) {
          throw new InputError('Invalid quarantine: expiresAt is past');
        }
        if (expires > at.getTime() + MAX_QUARANTINE_DAYS * DAY) {
          throw new InputError(
            `Invalid quarantine: expiresAt is more than ${MAX_QUARANTINE_DAYS} days away`,
          );
        }
        const test = await testOf(entity, req.params.testId);
        const entityRef = stringifyEntityRef(entity);
        await quarantines.put({
          entityRef,
          testId: test.id,
          sourceKey: test.sourceKey,
          reason: parsed.data.reason,
          expiresAt: new Date(expires).toISOString(),
          createdBy:
            (credentials.principal as { userEntityRef?: string })
              .userEntityRef ?? 'unknown',
          createdAt: at.toISOString(),
        });
        const [saved] = (
          await quarantines.listForEntity(entityRef, at.toISOString())
        ).filter(q => q.testId === test.id);
        res.json(toApi(saved));
      });
    },
  );

  router.delete(
    '/entities/:kind/:namespace/:name/tests/:testId/quarantine',
    async (req, res) => {
      await change(req, 'test-unquarantine', async entity => {
        const removed = await quarantines.remove(
          stringifyEntityRef(entity),
          req.params.testId,
        );
        if (!removed) {
          throw new NotFoundError(
            `Test ${req.params.testId} is not quarantined`,
          );
        }
        res.status(204).end();
      });
    },
  );

  router.get('/quarantine', async (req, res) => {
    const query = parseQuery(quarantineQuery, req.query);
    const credentials = await httpAuth.credentials(req, {
      allow: ['user', 'service'],
    });
    const keys = await tests.sourceKeysOf({
      source: query.source,
      provider: query.provider,
    });
    const all = await quarantines.listForSources(keys, now().toISOString());
    // Only the quarantines of entities the caller may see.
    const refs = [...new Set(all.map(q => q.entityRef))];
    const seen = refs.length ? await entities.getMany(refs, credentials) : [];
    const visible = new Set(refs.filter((_, i) => seen[i] !== undefined));
    const items = all.filter(q => visible.has(q.entityRef));
    if (query.format === 'text') {
      res
        .type('text/plain')
        .send(
          [
            ...new Set(
              items.map(q =>
                q.classname ? `${q.classname}.${q.name}` : q.name,
              ),
            ),
          ]
            .map(line => `${line}\n`)
            .join(''),
        );
      return;
    }
    const body: CiTestQuarantinesResponse = { items: items.map(toApi) };
    res.json(body);
  });

  return router;
}
