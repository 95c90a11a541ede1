import {
  AuthService,
  BackstageCredentials,
  DiscoveryService,
} from '@backstage/backend-plugin-api';
import {
  ActionsRegistryActionOptions,
  ActionsRegistryService,
} from '@backstage/backend-plugin-api/alpha';
import { parseEntityRef } from '@backstage/catalog-model';
import {
  AuthenticationError,
  ConflictError,
  deserializeError,
  InputError,
  NotAllowedError,
  NotFoundError,
  parseErrorResponseBody,
  ServiceUnavailableError,
} from '@backstage/errors';
import {
  CI_RUN_STATUSES,
  CiInsightsResponse,
  CiJob,
  CiJobLog,
  CiRun,
  CiRunDetail,
  CiRunsResponse,
  isFinalStatus,
} from '@ci-experience/plugin-ci-experience-common';
import { stripAnsi } from '../triage/FailureClassifier';
import { maskSecrets } from '../triage/maskSecrets';

/** The names agents call them by: a public contract (issue 17). */
export const CI_ACTION_NAMES = [
  'list-ci-runs',
  'get-ci-run',
  'explain-ci-failure',
  'get-ci-insights',
  'rerun-ci-run',
  'cancel-ci-run',
] as const;

/** Lines of a failed job's log an explanation carries at most. */
export const EXCERPT_MAX_LINES = 40;
/** Characters of that excerpt at most: it must fit an agent's context. */
export const EXCERPT_MAX_CHARS = 4000;

const RUN_ID = /^[A-Za-z0-9_-]{1,200}$/;
const ENTITY_REF_PART = /^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/;

/** The zod the registry hands each schema function (its own copy). */
type Zod = Parameters<
  ActionsRegistryActionOptions<any, any>['schema']['input']
>[0];

/**
 * The plugin's data and actions for AI agents, through Backstage's actions
 * registry (served over MCP by `@backstage/plugin-mcp-actions-backend`).
 *
 * Each action calls this plugin's own HTTP API on behalf of the caller
 * (a plugin request token for the calling user or service), so what an
 * agent may read, and whether it may rerun or cancel, is decided by the
 * very routes the portal uses: the same catalog visibility, source policy,
 * permission (`ci-experience.run.execute`) and audit events. Rerun and
 * cancel act for a signed-in user only, never for a bare service token.
 */
export function registerCiActions(options: {
  actionsRegistry: ActionsRegistryService;
  auth: AuthService;
  discovery: DiscoveryService;
  /** `app.baseUrl`: guides are linked absolute for an agent. */
  appBaseUrl?: string;
  fetch?: typeof fetch;
}): void {
  const { actionsRegistry, auth, discovery } = options;
  const doFetch = options.fetch ?? fetch;

  const call = async <T>(
    credentials: BackstageCredentials,
    path: string,
    init: { method?: 'GET' | 'POST'; body?: unknown } = {},
  ): Promise<T> => {
    const { token } = await auth.getPluginRequestToken({
      onBehalfOf: credentials,
      targetPluginId: 'ci-experience',
    });
    const base = await discovery.getBaseUrl('ci-experience');
    const res = await doFetch(`${base}${path}`, {
      method: init.method ?? 'GET',
      headers: {
        authorization: `Bearer ${token}`,
        ...(init.body !== undefined
          ? { 'content-type': 'application/json' }
          : {}),
      },
      ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
    });
    if (!res.ok) {
      throw await errorOf(res);
    }
    const text = await res.text();
    return (text ? JSON.parse(text) : {}) as T;
  };

  const guideUrl = (guide?: string) => {
    if (!guide) return undefined;
    try {
      return options.appBaseUrl
        ? new URL(guide, options.appBaseUrl).href
        : guide;
    } catch {
      return guide;
    }
  };

  const runOf = (run: CiRun) => ({
    id: run.id,
    provider: run.provider,
    source: run.source,
    workflow: run.workflow,
    runNumber: run.runNumber,
    attempt: run.attempt,
    status: run.status,
    ...(run.branch ? { branch: run.branch } : {}),
    ...(run.commitSha ? { commitSha: run.commitSha } : {}),
    ...(run.event ? { event: run.event } : {}),
    createdAt: run.createdAt,
    ...(run.finishedAt ? { finishedAt: run.finishedAt } : {}),
    ...(run.durationMs !== undefined ? { durationMs: run.durationMs } : {}),
    url: run.url,
    ...(run.failure
      ? {
          failure: {
            id: run.failure.id,
            title: run.failure.title,
            ...(run.failure.category ? { category: run.failure.category } : {}),
          },
        }
      : {}),
  });

  const jobOf = (job: CiJob) => ({
    id: job.id,
    name: job.name,
    status: job.status,
    ...(job.durationMs !== undefined ? { durationMs: job.durationMs } : {}),
    ...(job.failure
      ? { failure: { id: job.failure.id, title: job.failure.title } }
      : {}),
    ...(job.steps?.length
      ? {
          failedSteps: job.steps
            .filter(s => s.status === 'failed')
            .map(s => s.name),
        }
      : {}),
  });

  const zRun = (z: Zod) =>
    z.object({
      id: z.string(),
      provider: z.string(),
      source: z.string(),
      workflow: z.string(),
      runNumber: z.number(),
      attempt: z.number(),
      status: z.string(),
      branch: z.string().optional(),
      commitSha: z.string().optional(),
      event: z.string().optional(),
      createdAt: z.string(),
      finishedAt: z.string().optional(),
      durationMs: z.number().optional(),
      url: z.string(),
      failure: z
        .object({
          id: z.string(),
          title: z.string(),
          category: z.string().optional(),
        })
        .optional(),
    });

  const entityRefInput = (z: Zod) =>
    z
      .string()
      .min(1)
      .max(512)
      .describe(
        'The catalog entity, e.g. component:default/payments-service (kind defaults to component, namespace to default)',
      );
  const runIdInput = (z: Zod) =>
    z
      .string()
      .regex(RUN_ID, 'a run id as list-ci-runs answers it')
      .describe('A run id as list-ci-runs answers it');

  actionsRegistry.register({
    name: 'list-ci-runs',
    title: 'List CI runs',
    description:
      "Lists an entity's CI runs, newest first, across its CI providers: status, branch, commit, duration and, for failed runs, their failure class. Also says which of the entity's CI sources could not be read, and why.",
    attributes: { readOnly: true, idempotent: true, destructive: false },
    schema: {
      input: z =>
        z.object({
          entityRef: entityRefInput(z),
          branch: z.string().min(1).max(256).optional(),
          workflow: z.string().min(1).max(256).optional(),
          status: z
            .array(z.enum(CI_RUN_STATUSES as [string, ...string[]]))
            .optional()
            .describe('Only runs of these statuses'),
          limit: z.number().int().min(1).max(50).default(10),
          cursor: z
            .string()
            .max(1024)
            .optional()
            .describe('nextCursor of a previous answer, for the next page'),
        }),
      output: z =>
        z.object({
          runs: z.array(zRun(z)),
          nextCursor: z.string().optional(),
          problems: z
            .array(z.string())
            .describe(
              'CI sources of the entity that could not be read, and why',
            ),
        }),
    },
    action: async ({ input, credentials }) => {
      const query = new URLSearchParams({ limit: String(input.limit) });
      if (input.branch) query.set('branch', input.branch);
      if (input.workflow) query.set('workflow', input.workflow);
      if (input.status?.length) query.set('status', input.status.join(','));
      if (input.cursor) query.set('cursor', input.cursor);
      const body = await call<CiRunsResponse>(
        credentials,
        `${entityPath(input.entityRef)}/runs?${query}`,
      );
      return {
        output: {
          runs: body.items.map(runOf),
          ...(body.nextCursor ? { nextCursor: body.nextCursor } : {}),
          problems: body.sources.flatMap(s => {
            if (s.error) {
              return [`${s.provider} ${s.source}: ${s.error.message}`];
            }
            return s.notConfigured ? [s.notConfigured] : [];
          }),
        },
      };
    },
  });

  actionsRegistry.register({
    name: 'get-ci-run',
    title: 'Get a CI run',
    description:
      'One CI run with its jobs (status, duration, failure class, failed steps), every attempt of it, and what may be done with it (rerun, cancel).',
    attributes: { readOnly: true, idempotent: true, destructive: false },
    schema: {
      input: z => z.object({ runId: runIdInput(z) }),
      output: z =>
        z.object({
          run: zRun(z),
          jobs: z.array(
            z.object({
              id: z.string(),
              name: z.string(),
              status: z.string(),
              durationMs: z.number().optional(),
              failure: z
                .object({ id: z.string(), title: z.string() })
                .optional(),
              failedSteps: z.array(z.string()).optional(),
            }),
          ),
          jobsPending: z.boolean().optional(),
          attempts: z.array(
            z.object({
              id: z.string(),
              attempt: z.number(),
              status: z.string(),
            }),
          ),
          actions: z.object({
            rerun: z.boolean(),
            rerunFailed: z.boolean(),
            cancel: z.boolean(),
          }),
        }),
    },
    action: async ({ input, credentials }) => {
      const run = await call<CiRunDetail>(
        credentials,
        `/runs/${encodeURIComponent(input.runId)}`,
      );
      return {
        output: {
          run: runOf(run),
          jobs: run.jobs.map(jobOf),
          ...(run.jobsPending ? { jobsPending: true } : {}),
          attempts: run.attempts.map(a => ({
            id: a.id,
            attempt: a.attempt,
            status: a.status,
          })),
          actions: {
            rerun: run.actions.rerun,
            rerunFailed: run.actions.rerunFailed,
            cancel: run.actions.cancel && !isFinalStatus(run.status),
          },
        },
      };
    },
  });

  actionsRegistry.register({
    name: 'explain-ci-failure',
    title: 'Explain a CI failure',
    description:
      "Why a CI run failed, small enough for an agent's context: its failure class and how-to-fix guide, the first failing job and step, a bounded excerpt of that job's log around the matched line (secrets masked), the entity's last green commit on the same branch, and whether the failure looks flaky (decided from the run's attempts and other runs of the same commit, not guessed).",
    attributes: { readOnly: true, idempotent: true, destructive: false },
    schema: {
      input: z =>
        z.object({
          entityRef: entityRefInput(z),
          runId: runIdInput(z),
        }),
      output: z =>
        z.object({
          run: zRun(z),
          failed: z.boolean(),
          failure: z
            .object({
              id: z.string(),
              title: z.string(),
              category: z.string().optional(),
              guideUrl: z.string().optional(),
              line: z.string().optional(),
            })
            .optional(),
          failingJob: z
            .object({
              id: z.string(),
              name: z.string(),
              step: z.string().optional(),
            })
            .optional(),
          logExcerpt: z.string().optional(),
          lastGreen: z
            .object({
              runId: z.string(),
              runNumber: z.number(),
              commitSha: z.string().optional(),
              finishedAt: z.string().optional(),
            })
            .optional(),
          looksFlaky: z.boolean(),
          flakyEvidence: z.string(),
        }),
    },
    action: async ({ input, credentials }) => {
      const run = await call<CiRunDetail>(
        credentials,
        `/runs/${encodeURIComponent(input.runId)}`,
      );
      const failed = run.status === 'failed';
      const job =
        run.jobs.find(j => j.status === 'failed' && j.failure) ??
        run.jobs.find(j => j.status === 'failed');
      const failure = job?.failure ?? run.failure;
      let logExcerpt: string | undefined;
      if (job && run.actions.logs) {
        try {
          const log = await call<CiJobLog>(
            credentials,
            `/runs/${encodeURIComponent(run.id)}/jobs/${encodeURIComponent(
              job.id,
            )}/log`,
          );
          logExcerpt = excerptOf(log.text, failure?.line);
        } catch {
          // The explanation stands without the log.
        }
      }
      // Runs of the same branch: the last green one, and any other run of
      // the same commit that passed (a flake).
      const query = new URLSearchParams({ limit: '100', attempts: 'all' });
      if (run.branch) query.set('branch', run.branch);
      const listing = await call<CiRunsResponse>(
        credentials,
        `${entityPath(input.entityRef)}/runs?${query}`,
      );
      // The run must be one of the entity's: no explaining another's run
      // against this entity's history.
      if (
        !listing.sources.some(
          s => s.provider === run.provider && s.source === run.source,
        )
      ) {
        throw new NotFoundError(`No run ${run.id} for ${input.entityRef}`);
      }
      const green = listing.items.find(
        r =>
          r.status === 'succeeded' &&
          r.workflow === run.workflow &&
          r.createdAt <= run.createdAt &&
          r.id !== run.id,
      );
      const passedAttempt = run.attempts.find(
        a => a.status === 'succeeded' && a.attempt !== run.attempt,
      );
      const sameCommit =
        run.commitSha &&
        listing.items.find(
          r =>
            r.status === 'succeeded' &&
            r.workflow === run.workflow &&
            r.commitSha === run.commitSha &&
            r.id !== run.id,
        );
      let looksFlaky = false;
      let flakyEvidence: string;
      if (!failed) {
        flakyEvidence = `The run did not fail (${run.status})`;
      } else if (passedAttempt) {
        looksFlaky = true;
        flakyEvidence = `Attempt ${passedAttempt.attempt} of the same run passed on the same commit`;
      } else if (sameCommit) {
        looksFlaky = true;
        flakyEvidence = `Run #${sameCommit.runNumber} (attempt ${sameCommit.attempt}) passed on the same commit`;
      } else if (failure?.category === 'flaky') {
        looksFlaky = true;
        flakyEvidence = `Its failure class, ${failure.title}, is a known flaky kind`;
      } else {
        flakyEvidence = run.commitSha
          ? `No run of ${run.workflow} passed on commit ${run.commitSha.slice(
              0,
              12,
            )}`
          : 'No passing run of the same commit is known';
      }
      const step = job?.steps?.find(s => s.status === 'failed')?.name;
      return {
        output: {
          run: runOf(run),
          failed,
          ...(failure
            ? {
                failure: {
                  id: failure.id,
                  title: failure.title,
                  ...(failure.category ? { category: failure.category } : {}),
                  ...(failure.guide
                    ? { guideUrl: guideUrl(failure.guide) }
                    : {}),
                  ...(failure.line
                    ? { line: maskSecrets(failure.line).slice(0, 500) }
                    : {}),
                },
              }
            : {}),
          ...(job
            ? {
                failingJob: {
                  id: job.id,
                  name: job.name,
                  ...(step ? { step } : {}),
                },
              }
            : {}),
          ...(logExcerpt ? { logExcerpt } : {}),
          ...(green
            ? {
                lastGreen: {
                  runId: green.id,
                  runNumber: green.runNumber,
                  ...(green.commitSha ? { commitSha: green.commitSha } : {}),
                  ...(green.finishedAt ? { finishedAt: green.finishedAt } : {}),
                },
              }
            : {}),
          looksFlaky,
          flakyEvidence,
        },
      };
    },
  });

  actionsRegistry.register({
    name: 'get-ci-insights',
    title: 'Get CI health insights',
    description:
      "An entity's CI health over a window, on its default branch: success rate, p50/p95 duration and queue time, time to recovery, flaky rate (each with its sample size), and its most failing and flakiest jobs and commonest failure classes.",
    attributes: { readOnly: true, idempotent: true, destructive: false },
    schema: {
      input: z =>
        z.object({
          entityRef: entityRefInput(z),
          window: z.enum(['7d', '30d', '90d']).default('30d'),
        }),
      output: z => {
        const figure = z.object({
          value: z.number().optional(),
          sample: z.number(),
        });
        const ranked = z.array(
          z.object({
            workflow: z.string(),
            job: z.string().optional(),
            runs: z.number(),
            failures: z.number(),
          }),
        );
        return z.object({
          window: z.object({ from: z.string(), to: z.string() }),
          branches: z.array(z.string()),
          figures: z.object({
            runs: figure,
            successRate: figure,
            durationP50Ms: figure,
            durationP95Ms: figure,
            queueP95Ms: figure,
            timeToRecoveryMeanMs: figure,
            flakyRate: figure,
          }),
          mostFailingJobs: ranked,
          flakiestJobs: ranked,
          failuresByClass: z.array(
            z.object({ id: z.string(), title: z.string(), count: z.number() }),
          ),
          minSample: z.number(),
        });
      },
    },
    action: async ({ input, credentials }) => {
      const body = await call<CiInsightsResponse>(
        credentials,
        `${entityPath(input.entityRef)}/insights?window=${input.window}`,
      );
      const f = (x: { value?: number | null; sample: number }) => ({
        ...(typeof x.value === 'number' ? { value: x.value } : {}),
        sample: x.sample,
      });
      const top = (items: CiInsightsResponse['flakiestJobs']) =>
        items.slice(0, 5).map(i => ({
          workflow: i.workflow,
          ...(i.job ? { job: i.job } : {}),
          runs: i.runs,
          failures: i.failures,
        }));
      const c = body.current;
      return {
        output: {
          window: { from: body.window.from, to: body.window.to },
          branches: body.branches,
          figures: {
            runs: f(c.runs),
            successRate: f(c.successRate),
            durationP50Ms: f(c.durationP50),
            durationP95Ms: f(c.durationP95),
            queueP95Ms: f(c.queueP95),
            timeToRecoveryMeanMs: f(c.timeToRecoveryMean),
            flakyRate: f(c.flakyRate),
          },
          mostFailingJobs: top(body.mostFailingJobs),
          flakiestJobs: top(body.flakiestJobs),
          failuresByClass: body.failuresByClass.slice(0, 10).map(x => ({
            id: x.id,
            title: x.title,
            count: x.count,
          })),
          minSample: body.minSample,
        },
      };
    },
  });

  const act = async (
    action: 'rerun' | 'cancel',
    credentials: BackstageCredentials,
    input: { entityRef: string; runId: string; failedOnly?: boolean },
  ) => {
    if (!auth.isPrincipal(credentials, 'user')) {
      throw new NotAllowedError(
        `${action}-ci-run acts on behalf of a signed-in user only`,
      );
    }
    await call(
      credentials,
      `${entityPath(input.entityRef)}/runs/${encodeURIComponent(
        input.runId,
      )}/${action}`,
      {
        method: 'POST',
        ...(action === 'rerun'
          ? { body: { failedOnly: input.failedOnly ?? false } }
          : {}),
      },
    );
    return {
      output: {
        requested: true,
        message:
          action === 'rerun'
            ? `Rerun of ${input.runId} requested; the new attempt appears in list-ci-runs once the provider reports it`
            : `Cancel of ${input.runId} requested`,
      },
    };
  };
  const requested = (z: Zod) =>
    z.object({ requested: z.boolean(), message: z.string() });

  actionsRegistry.register({
    name: 'rerun-ci-run',
    title: 'Rerun a CI run',
    description:
      "Reruns a finished CI run of an entity (all of it, or its failed jobs only where the provider can), on behalf of the signed-in user: allowed only to those who may run the entity's CI (permission ci-experience.run.execute, its owners by default), and audited as the portal's Rerun button.",
    attributes: { readOnly: false, destructive: false, idempotent: false },
    schema: {
      input: z =>
        z.object({
          entityRef: entityRefInput(z),
          runId: runIdInput(z),
          failedOnly: z
            .boolean()
            .default(false)
            .describe('Rerun only the failed jobs, where the provider can'),
        }),
      output: requested,
    },
    action: ({ input, credentials }) => act('rerun', credentials, input),
  });

  actionsRegistry.register({
    name: 'cancel-ci-run',
    title: 'Cancel a CI run',
    description:
      "Cancels a queued or running CI run of an entity, on behalf of the signed-in user: allowed only to those who may run the entity's CI (permission ci-experience.run.execute, its owners by default), and audited as the portal's Cancel button.",
    attributes: { readOnly: false, destructive: true, idempotent: true },
    schema: {
      input: z =>
        z.object({ entityRef: entityRefInput(z), runId: runIdInput(z) }),
      output: requested,
    },
    action: ({ input, credentials }) => act('cancel', credentials, input),
  });
}

/** `/entities/{kind}/{namespace}/{name}` of an entity ref; a clear 400 else. */
function entityPath(entityRef: string): string {
  let ref;
  try {
    ref = parseEntityRef(entityRef, {
      defaultKind: 'component',
      defaultNamespace: 'default',
    });
  } catch (error) {
    throw new InputError(
      `Invalid entityRef "${entityRef}": ${(error as Error).message}`,
    );
  }
  const parts = [ref.kind, ref.namespace, ref.name];
  // The catalog's own shapes of kinds, namespaces and names.
  if (!parts.every(part => ENTITY_REF_PART.test(part))) {
    throw new InputError(
      `Invalid entityRef "${entityRef}": give kind:namespace/name, e.g. component:default/payments-service`,
    );
  }
  return `/entities/${parts.map(encodeURIComponent).join('/')}`;
}

/**
 * At most {@link EXCERPT_MAX_LINES} lines around the matched line (else the
 * last ones), ANSI escapes removed, secrets masked, within
 * {@link EXCERPT_MAX_CHARS}.
 */
export function excerptOf(text: string, matched?: string): string {
  const lines = stripAnsi(text).split(/\r?\n/);
  while (lines.length && lines[lines.length - 1].trim() === '') lines.pop();
  let end = lines.length;
  if (matched) {
    const needle = matched.trim();
    const at = needle ? lines.findIndex(l => l.includes(needle)) : -1;
    if (at >= 0) {
      end = Math.min(lines.length, at + 6);
    }
  }
  const start = Math.max(0, end - EXCERPT_MAX_LINES);
  let out = lines
    .slice(start, end)
    .map(l => maskSecrets(l).slice(0, 400))
    .join('\n');
  if (out.length > EXCERPT_MAX_CHARS) {
    out = out.slice(out.length - EXCERPT_MAX_CHARS);
    out = out.slice(out.indexOf('\n') + 1);
  }
  return out;
}

/** The error a route answered, by its own name (so its status), its message kept. */
async function errorOf(res: Response): Promise<Error> {
  const error = deserializeError((await parseErrorResponseBody(res)).error);
  const passed = [
    InputError,
    AuthenticationError,
    NotAllowedError,
    NotFoundError,
    ConflictError,
  ];
  return passed.some(type => type.name === error.name)
    ? error
    : new ServiceUnavailableError(error.message);
}
