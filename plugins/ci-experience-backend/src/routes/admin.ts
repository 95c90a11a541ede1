import {
  HttpAuthService,
  PermissionsService,
} from '@backstage/backend-plugin-api';
import { NotAllowedError } from '@backstage/errors';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import {
  ciAdminReadPermission,
  CiOperatorStatus,
} from '@ci-experience/plugin-ci-experience-common';
import express from 'express';
import Router from 'express-promise-router';
import { z } from 'zod';
import { MAX_SOURCE_LIMIT } from '../service/OperatorStatus';
import { parseQuery, single } from './query';

export const statusQuery = z
  .object({
    limit: single('limit').pipe(
      z
        .string()
        .regex(
          /^\d{1,4}$/,
          `must be a whole number from 1 to ${MAX_SOURCE_LIMIT}`,
        )
        .transform(Number)
        .pipe(
          z
            .number()
            .min(1, `must be a whole number from 1 to ${MAX_SOURCE_LIMIT}`)
            .max(MAX_SOURCE_LIMIT, `must be at most ${MAX_SOURCE_LIMIT}`),
        )
        .optional(),
    ),
  })
  .passthrough();

/**
 * The operator's view (`GET /admin/status`): provider hosts, sources worst
 * first (`?limit=`, default 200, at most 1000), webhook intake and queue
 * depths. Only for those granted `ci-experience.admin.read`.
 */
export function createAdminRouter(options: {
  httpAuth: HttpAuthService;
  permissions: PermissionsService;
  operatorStatus: {
    status(options: { limit?: number }): Promise<CiOperatorStatus>;
  };
}): express.Router {
  const { httpAuth, permissions, operatorStatus } = options;
  const router = Router();

  router.get('/admin/status', async (req, res) => {
    // Users only: the permissions service allows any service principal
    // outright, and machines read the same figures as metrics.
    const credentials = await httpAuth.credentials(req, { allow: ['user'] });
    const [decision] = await permissions.authorize(
      [{ permission: ciAdminReadPermission }],
      { credentials },
    );
    if (decision.result !== AuthorizeResult.ALLOW) {
      throw new NotAllowedError(
        `The operator status needs the ${ciAdminReadPermission.name} permission`,
      );
    }
    const { limit } = parseQuery(statusQuery, req.query);
    res.setHeader('Cache-Control', 'no-store');
    res.json(await operatorStatus.status({ limit }));
  });

  return router;
}
