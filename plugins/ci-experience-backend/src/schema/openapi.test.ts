import {
  mockCredentials,
  startTestBackend,
} from '@backstage/backend-test-utils';
import fs from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import { z } from 'zod';
import { ciPluginFeatures } from '../__testUtils__/backend';
import { statusQuery } from '../routes/admin';
import { entityQuery, rollupQuery } from '../routes/insights';
import { runsQuery } from '../routes/runs';
import { entityTestsQuery } from '../routes/testResults';
import { quarantineQuery } from '../routes/quarantine';
import { spec } from './openapi';

// The code and the OpenAPI spec agree: every route the code serves is in
// the spec with its method, and every operation of the spec is served;
// each query parameter the routes read is in the spec, and the spec lists
// none they ignore. (scripts/openapi.cjs --check, in CI, keeps the
// generated router, client routes and docs/api.md in step with the spec.)

const SRC = path.resolve(__dirname, '..');
const METHODS = ['get', 'post', 'put', 'delete'] as const;

/** `METHOD /path/{param}` of every route the source files declare. */
function codeRoutes(): string[] {
  const files = [
    path.join(SRC, 'router.ts'),
    ...fs
      .readdirSync(path.join(SRC, 'routes'))
      .filter(f => f.endsWith('.ts') && !f.endsWith('.test.ts'))
      .map(f => path.join(SRC, 'routes', f)),
  ];
  const routes: string[] = [];
  for (const file of files) {
    const text = fs.readFileSync(file, 'utf8');
    for (const m of text.matchAll(
      /router\.(get|post|put|delete)\(\s*'([^']+)'/g,
    )) {
      routes.push(`${m[1].toUpperCase()} ${m[2].replace(/:(\w+)/g, '{$1}')}`);
    }
  }
  return routes.sort();
}

function specRoutes(): string[] {
  const routes: string[] = [];
  for (const [p, item] of Object.entries(spec.paths)) {
    for (const method of METHODS) {
      if ((item as Record<string, unknown>)[method]) {
        routes.push(`${method.toUpperCase()} ${p}`);
      }
    }
  }
  return routes.sort();
}

/** The query parameter names an operation of the spec lists. */
function specQuery(p: string, method: (typeof METHODS)[number]): string[] {
  const op = (spec.paths as any)[p][method];
  const resolve = (param: any) =>
    param.$ref
      ? (spec.components.parameters as any)[param.$ref.split('/').pop()]
      : param;
  return (op.parameters ?? [])
    .map(resolve)
    .filter((param: any) => param.in === 'query')
    .map((param: any) => param.name)
    .sort();
}

/** The keys of a route's zod query schema (through refinements). */
function schemaKeys(schema: z.ZodTypeAny): string[] {
  let s: any = schema;
  while (s instanceof z.ZodEffects) {
    s = s.innerType();
  }
  return Object.keys((s as z.AnyZodObject).shape).sort();
}

describe('the OpenAPI spec (src/schema/openapi.yaml)', () => {
  it('lists every route the code serves, and only those', () => {
    const code = codeRoutes();
    expect(code.length).toBeGreaterThan(10);
    expect(specRoutes()).toEqual(code);
  });

  it.each([
    ['/entities/{kind}/{namespace}/{name}/runs', runsQuery],
    ['/entities/{kind}/{namespace}/{name}/insights', entityQuery],
    ['/groups/{namespace}/{name}/insights', rollupQuery],
    ['/systems/{namespace}/{name}/insights', rollupQuery],
    ['/admin/status', statusQuery],
    ['/entities/{kind}/{namespace}/{name}/tests', entityTestsQuery],
    ['/quarantine', quarantineQuery],
  ] as const)('lists the query parameters %s reads', (p, schema) => {
    expect(specQuery(p, 'get')).toEqual(schemaKeys(schema));
  });

  it('is what the plugin serves, and its router validates requests against it', async () => {
    const { server } = await startTestBackend({
      features: ciPluginFeatures({ providers: [], entities: [], allow: [] }),
    });
    const http = request(server);
    const served = await http
      .get('/api/ci-experience/openapi.json')
      .set('Authorization', mockCredentials.user.header());
    expect(served.status).toBe(200);
    expect(Object.keys(served.body.paths).sort()).toEqual(
      Object.keys(spec.paths)
        .map(p => `/api/ci-experience${p}`)
        .sort(),
    );
    // A body the spec says is an object: refused by the spec's validation.
    const refused = await http
      .post('/api/ci-experience/entities/component/default/app/runs/r1/rerun')
      .set('Authorization', mockCredentials.user.header())
      .send({ failedOnly: 'yes' });
    expect(refused.status).toBe(400);
    expect(refused.body.error.name).toBe('InputError');
    // express-openapi-validator's wording, not the route's own.
    expect(refused.body.error.message).toMatch(/request\/body\/failedOnly/);
  });
});
