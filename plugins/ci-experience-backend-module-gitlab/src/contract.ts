import { z } from 'zod';
import {
  gitlabJobHookSchema,
  gitlabHookBuildSchema,
  gitlabPipelineHookSchema,
} from './GitlabWebhook';
import {
  gitlabBridgeSchema,
  gitlabJobSchema,
  gitlabPipelineSchema,
  gitlabProjectSchema,
} from './mapping';
import { gitlabTestCaseSchema, gitlabTestSuiteSchema } from './testReport';

/**
 * A JSON type as `typeof` and `Array.isArray` tell them, `any` for unchecked.
 *
 * @public
 */
export type JsonType =
  | 'string'
  | 'number'
  | 'boolean'
  | 'object'
  | 'array'
  | 'null'
  | 'any';

/**
 * One field the provider reads: its path (`a.b`, `builds[].id`) and allowed types.
 *
 * @public
 */
export interface ReadField {
  path: string;
  types: JsonType[];
}

/**
 * One answer or delivery the GitLab provider reads, with the schema it
 * parses it with. The schemas are the one place that says which fields are
 * read: a field added to a schema is a field the contract test checks in
 * the recorded fixture and in the simulator's answer.
 *
 * @public
 */
export interface GitlabContractEntry {
  name: string;
  schema: z.ZodTypeAny;
  /** The recorded answer in `__fixtures__`, when there is one. */
  fixture?: string;
  /** Why there is no recorded answer. */
  noFixture?: string;
  /**
   * Why the simulator is not asked for this answer (it does not serve
   * the endpoint); the recorded answer is then the only check.
   */
  noSimulator?: string;
  /** The answer is a list of such items. */
  list?: boolean;
  /**
   * Fields the schema allows that this answer never has (the same schema
   * reads a fuller answer elsewhere), e.g. the pipeline list's missing
   * times; the test checks they are absent, so the list stays true.
   */
  notSent?: string[];
  /**
   * Objects the recorded example has as null in every item (e.g. a job
   * without a runner), so their fields are checked in the simulator only.
   */
  nullInFixture?: string[];
  /**
   * Fields GitLab sends that its documented example happens to lack, with
   * where GitLab's source says it sends them; checked in the simulator only
   * (and checked to be still absent from the example).
   */
  exampleLacks?: Record<string, string>;
}

/**
 * What the GitLab provider reads, answer by answer.
 *
 * @public
 */
export const GITLAB_CONTRACT: GitlabContractEntry[] = [
  {
    name: 'GET /projects/:id',
    schema: gitlabProjectSchema,
    noFixture:
      'no stored copy of doc/api/projects.md was found; the webhook payloads carry the same project fields',
  },
  {
    name: 'GET /projects/:id/pipelines',
    schema: gitlabPipelineSchema,
    fixture: 'pipelines.json',
    list: true,
    notSent: [
      'started_at',
      'finished_at',
      'duration',
      'queued_duration',
      'user',
      'user.username',
      'user.name',
    ],
  },
  {
    name: 'GET /projects/:id/pipelines/:pipeline_id',
    schema: gitlabPipelineSchema,
    fixture: 'pipeline.json',
  },
  {
    name: 'GET /projects/:id/pipelines/:pipeline_id/jobs',
    schema: gitlabJobSchema,
    fixture: 'pipeline-jobs.json',
    list: true,
  },
  {
    name: 'GET /projects/:id/pipelines/:pipeline_id/bridges',
    schema: gitlabBridgeSchema,
    fixture: 'pipeline-bridges.json',
    list: true,
  },
  {
    name: 'GET /projects/:id/jobs/:job_id',
    schema: gitlabJobSchema,
    fixture: 'job.json',
    nullInFixture: ['runner'],
  },
  {
    name: 'GET /projects/:id/pipelines/:pipeline_id/test_report',
    // The suites' and cases' fields as `toTestCases` parses them.
    schema: z.object({
      test_suites: z.array(
        gitlabTestSuiteSchema.extend({
          test_cases: z.array(gitlabTestCaseSchema).nullish(),
        }),
      ),
    }),
    fixture: 'pipeline-test-report-go-gitlab.json',
  },
  {
    name: 'Pipeline Hook',
    schema: gitlabPipelineHookSchema.extend({
      builds: z.array(gitlabHookBuildSchema).nullish(),
    }),
    fixture: 'pipeline-hook.json',
    exampleLacks: {
      'object_attributes.queued_duration':
        'sent by Gitlab::DataBuilder::Pipeline#hook_attrs (lib/gitlab/data_builder/pipeline.rb) since GitLab 13.x; the webhook_events.md example omits it',
    },
  },
  {
    name: 'Job Hook',
    schema: gitlabJobHookSchema,
    fixture: 'job-hook.json',
  },
];

/**
 * The fields a schema reads, depth first.
 *
 * @public
 */
export function readFields(schema: z.ZodTypeAny, prefix = ''): ReadField[] {
  const { inner, nullable } = unwrap(schema);
  const def = inner._def as { typeName: string };
  const at = (types: JsonType[]): ReadField[] =>
    prefix
      ? [{ path: prefix, types: nullable ? [...types, 'null'] : types }]
      : [];
  switch (def.typeName) {
    case 'ZodString':
      return at(['string']);
    case 'ZodNumber':
      return at(['number']);
    case 'ZodBoolean':
      return at(['boolean']);
    case 'ZodLiteral':
      return at([typeof (inner as z.ZodLiteral<unknown>).value as JsonType]);
    case 'ZodObject': {
      const shape = (inner as z.AnyZodObject).shape as Record<
        string,
        z.ZodTypeAny
      >;
      return [
        ...at(['object']),
        ...Object.entries(shape).flatMap(([key, value]) =>
          readFields(value, prefix ? `${prefix}.${key}` : key),
        ),
      ];
    }
    case 'ZodArray':
      return [
        ...at(['array']),
        ...readFields(
          (inner as z.ZodArray<z.ZodTypeAny>).element,
          `${prefix}[]`,
        ).filter(f => f.path !== `${prefix}[]`),
      ];
    default:
      return at(['any']);
  }
}

function unwrap(schema: z.ZodTypeAny): {
  inner: z.ZodTypeAny;
  nullable: boolean;
} {
  let inner = schema;
  let nullable = false;
  for (;;) {
    const def = inner._def as {
      typeName: string;
      innerType?: z.ZodTypeAny;
      schema?: z.ZodTypeAny;
    };
    if (
      (def.typeName === 'ZodOptional' || def.typeName === 'ZodNullable') &&
      def.innerType
    ) {
      nullable = true;
      inner = def.innerType;
    } else if (def.typeName === 'ZodEffects' && def.schema) {
      inner = def.schema;
    } else {
      return { inner, nullable };
    }
  }
}

/**
 * The JSON type of a value.
 *
 * @public
 */
export function jsonType(value: unknown): JsonType {
  if (value === null) {
    return 'null';
  }
  if (Array.isArray(value)) {
    return 'array';
  }
  return typeof value as JsonType;
}

/**
 * What a document has at a field's path: the values found, whether the path
 * ended at a null object on the way, in every item.
 *
 * @public
 */
export function valuesAt(
  root: unknown,
  path: string,
): { values: unknown[]; stoppedAtNull: boolean } {
  const values: unknown[] = [];
  let stoppedAtNull = false;
  const walk = (node: unknown, segments: string[]) => {
    if (segments.length === 0) {
      values.push(node);
      return;
    }
    const [head, ...rest] = segments;
    const key = head.replace(/\[\]$/, '');
    if (node === null) {
      stoppedAtNull = true;
      return;
    }
    if (typeof node !== 'object' || !(key in (node as object))) {
      return;
    }
    const next = (node as Record<string, unknown>)[key];
    if (head.endsWith('[]')) {
      if (Array.isArray(next)) {
        next.forEach(item => walk(item, rest));
      }
      return;
    }
    walk(next, rest);
  };
  walk(root, path.split('.'));
  return { values, stoppedAtNull };
}

/**
 * The contract problems of one answer: read fields it lacks, or has with
 * another JSON type; `notSent` fields it has after all.
 *
 * @public
 */
export function contractProblems(
  entry: GitlabContractEntry,
  document: unknown,
  options: { allowNullParents?: string[]; lacks?: string[] } = {},
): string[] {
  const list = Array.isArray(document) ? document : [];
  const items = entry.list ? list : [document];
  if (entry.list && items.length === 0) {
    return [`${entry.name}: no items to check`];
  }
  const problems: string[] = [];
  const notSent = new Set(entry.notSent ?? []);
  for (const field of readFields(entry.schema)) {
    const found = items.map(item => valuesAt(item, field.path));
    const values = found.flatMap(f => f.values);
    if (options.lacks?.includes(field.path)) {
      if (values.length > 0) {
        problems.push(`${field.path}: listed as lacking, but present`);
      }
      continue;
    }
    if (notSent.has(field.path)) {
      if (values.length > 0) {
        problems.push(`${field.path}: listed as not sent, but present`);
      }
      continue;
    }
    if (values.length === 0) {
      const parent = field.path.replace(/\.[^.]+$/, '');
      const nullParent =
        found.some(f => f.stoppedAtNull) &&
        (options.allowNullParents ?? []).some(p => parent === p);
      if (!nullParent) {
        problems.push(`${field.path}: missing`);
      }
      continue;
    }
    for (const value of values) {
      const type = jsonType(value);
      if (!field.types.includes('any') && !field.types.includes(type)) {
        problems.push(
          `${field.path}: ${type}, expected ${field.types.join(' or ')}`,
        );
        break;
      }
    }
  }
  return problems;
}
