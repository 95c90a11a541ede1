import {
  AuditorService,
  BackstageCredentials,
  HttpAuthService,
  LoggerService,
  PermissionsService,
} from '@backstage/backend-plugin-api';
import {
  Entity,
  parseEntityRef,
  stringifyEntityRef,
} from '@backstage/catalog-model';
import {
  ConflictError,
  NotAllowedError,
  NotFoundError,
} from '@backstage/errors';
import { CatalogService } from '@backstage/plugin-catalog-node';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import {
  ciAlertManagePermission,
  CiAlertFiringsResponse,
  CiAlertRulesResponse,
} from '@ci-experience/plugin-ci-experience-common';
import express from 'express';
import Router from 'express-promise-router';
import { AlertEvaluator, AlertTarget } from '../alerts/AlertEvaluator';
import { AlertStore, StoredRule, toApiRule } from '../alerts/AlertStore';
import {
  AlertLimits,
  DEFAULT_ALERT_LIMITS,
  MAX_RULES_CONFIG,
  PREVIEW_LIMIT_CONFIG,
  PreviewRateLimiter,
  TooManyRequestsError,
} from '../alerts/limits';
import { parseRuleInput, ValidRule } from '../alerts/validation';
import { EntityResolver } from '../service/EntityResolver';

/**
 * Alert rules and firings:
 *
 * - `GET|POST /entities/:kind/:namespace/:name/alert-rules`
 * - `POST /entities/:kind/:namespace/:name/alert-rules/preview`
 * - `GET|PUT|DELETE /alert-rules/:id`
 * - `GET /entities/:kind/:namespace/:name/alerts`
 *
 * Reading needs the entity to be visible to the caller in the catalog.
 * Changing needs a user (a service is no one's owner) allowed
 * `ci-experience.alert.manage` on the entity; each change, allowed or
 * refused, is recorded by the auditor. The Slack URL is never answered.
 *
 * Bounded work: previews are limited per caller (user or service) and
 * minute, in memory on each replica (a 429 with `Retry-After`); an entity
 * has at most `maxRulesPerEntity` rules (a 409 beyond).
 */
export function createAlertsRouter(options: {
  httpAuth: HttpAuthService;
  catalog: CatalogService;
  permissions: PermissionsService;
  auditor: AuditorService;
  logger: LoggerService;
  store: AlertStore;
  evaluator: AlertEvaluator;
  targetOf: (entity: Entity) => Promise<AlertTarget>;
  slackAllowedHosts: string[];
  limits?: Partial<AlertLimits>;
}): express.Router {
  const { httpAuth, catalog, permissions, auditor, store, evaluator } = options;
  const limits = { ...DEFAULT_ALERT_LIMITS, ...options.limits };
  const router = Router();
  const entities = new EntityResolver(catalog, { ttlMs: 0 });
  const previews = new PreviewRateLimiter(limits.previewPerMinute);

  const readCredentials = (req: express.Request) =>
    httpAuth.credentials(req, { allow: ['user', 'service'] });

  const entityOf = async (
    ref: { kind: string; namespace: string; name: string },
    credentials: BackstageCredentials,
  ): Promise<Entity> => {
    const entity = await entities.get(ref, credentials);
    if (!entity) {
      throw new NotFoundError(
        `No entity ${ref.kind}:${ref.namespace}/${ref.name}`,
      );
    }
    return entity;
  };

  /** A rule whose entity the caller can see; else 404 (no existence leak). */
  const ruleOf = async (
    id: string,
    credentials: BackstageCredentials,
  ): Promise<StoredRule> => {
    const rule = await store.getRule(id);
    const visible =
      rule &&
      (await entities.get(parseEntityRef(rule.entityRef), credentials)) !==
        undefined;
    if (!rule || !visible) {
      throw new NotFoundError(`No alert rule ${id}`);
    }
    return rule;
  };

  /** Runs a change under the permission, audited whatever its outcome. */
  const change = async <T>(
    req: express.Request,
    eventId: string,
    entityRef: string,
    meta: Record<string, unknown>,
    fn: (credentials: BackstageCredentials<any>) => Promise<T>,
  ): Promise<T> => {
    const event = await auditor.createEvent({
      eventId,
      severityLevel: 'medium',
      request: req,
      meta: { entityRef, ...meta },
    });
    try {
      const credentials = await httpAuth.credentials(req, { allow: ['user'] });
      const [decision] = await permissions.authorize(
        [{ permission: ciAlertManagePermission, resourceRef: entityRef }],
        { credentials },
      );
      if (decision.result !== AuthorizeResult.ALLOW) {
        throw new NotAllowedError(
          `Only the owners of ${entityRef} may change its alerts`,
        );
      }
      const result = await fn(credentials);
      await event.success();
      return result;
    } catch (error) {
      await event.fail({ error: error as Error });
      throw error;
    }
  };

  const parse = (body: unknown): ValidRule =>
    parseRuleInput(body, { slackAllowedHosts: options.slackAllowedHosts });

  /** Evaluates a rule after a change, so that its state shows at once. */
  const settle = async (rule: StoredRule): Promise<StoredRule> => {
    try {
      await evaluator.evaluate(rule);
    } catch (error) {
      options.logger.warn(
        `CI alert rule ${rule.id} could not be evaluated after a change: ${error}`,
      );
    }
    return (await store.getRule(rule.id)) ?? rule;
  };

  router.get(
    '/entities/:kind/:namespace/:name/alert-rules',
    async (req, res) => {
      const entity = await entityOf(req.params, await readCredentials(req));
      const rules = await store.listRules(stringifyEntityRef(entity));
      const body: CiAlertRulesResponse = { rules: rules.map(toApiRule) };
      res.json(body);
    },
  );

  router.post(
    '/entities/:kind/:namespace/:name/alert-rules/preview',
    async (req, res) => {
      const credentials = await readCredentials(req);
      const { principal } = credentials;
      const caller =
        principal.type === 'user'
          ? `user:${principal.userEntityRef}`
          : `service:${principal.subject}`;
      const wait = previews.take(caller);
      if (wait) {
        res.setHeader('Retry-After', String(wait));
        throw new TooManyRequestsError(
          `Too many alert previews: at most ${limits.previewPerMinute} a minute per caller (${PREVIEW_LIMIT_CONFIG}); try again in ${wait} s`,
        );
      }
      const entity = await entityOf(req.params, credentials);
      const draft = parse(req.body);
      res.json(await evaluator.preview(draft, await options.targetOf(entity)));
    },
  );

  router.post(
    '/entities/:kind/:namespace/:name/alert-rules',
    async (req, res) => {
      const entity = await entityOf(req.params, await readCredentials(req));
      const entityRef = stringifyEntityRef(entity);
      const rule = await change(
        req,
        'alert-rule-create',
        entityRef,
        {},
        async credentials => {
          const input = parse(req.body);
          const count = await store.countRules(entityRef);
          if (count >= limits.maxRulesPerEntity) {
            throw new ConflictError(
              `${entityRef} already has ${count} alert rules, the most allowed (${MAX_RULES_CONFIG} is ${limits.maxRulesPerEntity}); delete one first`,
            );
          }
          return store.createRule(entityRef, input, {
            createdBy: credentials.principal.userEntityRef,
            now: new Date(),
          });
        },
      );
      res.status(201).json(toApiRule(await settle(rule)));
    },
  );

  router.get('/alert-rules/:id', async (req, res) => {
    res.json(
      toApiRule(await ruleOf(req.params.id, await readCredentials(req))),
    );
  });

  router.put('/alert-rules/:id', async (req, res) => {
    const before = await ruleOf(req.params.id, await readCredentials(req));
    const rule = await change(
      req,
      'alert-rule-update',
      before.entityRef,
      { ruleId: before.id },
      async () => {
        const input = parse(req.body);
        const redefined =
          input.kind !== before.kind ||
          JSON.stringify(input.params) !== JSON.stringify(before.params) ||
          (input.workflow ?? '') !== (before.workflow ?? '') ||
          JSON.stringify(input.branches) !== JSON.stringify(before.branches);
        if (redefined) {
          // A new definition starts afresh: its old firing closes quietly.
          await store.reset(before.id, new Date());
        }
        const updated = await store.updateRule(before.id, input, new Date());
        if (!updated) throw new NotFoundError(`No alert rule ${before.id}`);
        return updated;
      },
    );
    res.json(toApiRule(await settle(rule)));
  });

  router.delete('/alert-rules/:id', async (req, res) => {
    const rule = await ruleOf(req.params.id, await readCredentials(req));
    await change(
      req,
      'alert-rule-delete',
      rule.entityRef,
      { ruleId: rule.id },
      () => store.deleteRule(rule.id),
    );
    res.status(204).end();
  });

  router.get('/entities/:kind/:namespace/:name/alerts', async (req, res) => {
    const entity = await entityOf(req.params, await readCredentials(req));
    const body: CiAlertFiringsResponse = {
      firings: await store.listFirings(stringifyEntityRef(entity)),
    };
    res.json(body);
  });

  return router;
}
