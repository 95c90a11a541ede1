import {
  AuthService,
  DiscoveryService,
  LoggerService,
} from '@backstage/backend-plugin-api';
import {
  CATALOG_FILTER_EXISTS,
  CatalogApi,
  CatalogClient,
} from '@backstage/catalog-client';
import { Entity, getCompoundEntityRef } from '@backstage/catalog-model';
import {
  FactRetriever,
  TechInsightFact,
} from '@backstage-community/plugin-tech-insights-node';
import {
  CiAlertRulesResponse,
  CiInsightsResponse,
  CiRun,
  CiRunsResponse,
} from '@ci-experience/plugin-ci-experience-common';

/**
 * The retriever's id: facts are stored and checked under it.
 *
 * @public
 */
export const CI_FACT_RETRIEVER_ID = 'ciExperienceFactRetriever';

const DAY = 24 * 3600_000;
/** Default-branch runs read per entity for `daysSinceLongRed`. */
const MAX_RUNS = 500;

/**
 * What the retriever publishes per entity. Figures come from the CI tab's
 * own insights (default branch, last 30 days); a figure without a sample is
 * left out rather than published as 0.
 *
 * @public
 */
export const CI_FACT_SCHEMA = {
  ciSuccessRate30d: {
    type: 'float',
    description:
      'Succeeded / (succeeded + failed) runs on the default branch, last 30 days, 0..1',
  },
  ciDurationP95Ms30d: {
    type: 'integer',
    description:
      'p95 duration of finished runs on the default branch, last 30 days, in milliseconds',
  },
  ciTimeToRecoveryMeanMs30d: {
    type: 'integer',
    description:
      'Mean time from the first failing run to the next passing one on the default branch, last 30 days, in milliseconds',
  },
  ciFlakyRate30d: {
    type: 'float',
    description:
      'Share of commits that both failed and passed (a passing rerun included), last 30 days, 0..1',
  },
  ciRuns30d: {
    type: 'integer',
    description: 'Finished runs on the default branch, last 30 days',
  },
  ciDaysSinceLongRed: {
    type: 'float',
    description:
      'Days since the default branch was last red for over a day (0 while it is); when it never was in the runs read, the age of the oldest of them (at least that long); absent without runs',
  },
  ciAlertsConfigured: {
    type: 'boolean',
    description: 'At least one enabled CI alert rule is configured',
  },
} as const;

/**
 * Days since a workflow of the default branch was last red for more than a
 * day: per workflow, from its first failing run after a passing one to the
 * next passing run. 0 while such a stretch is still open; undefined when
 * the runs show none. Runs are the latest attempts on the default branch.
 */
export function daysSinceLongRed(
  runs: Pick<CiRun, 'workflow' | 'status' | 'createdAt' | 'finishedAt'>[],
  now: number,
): number | undefined {
  const byWorkflow = new Map<string, typeof runs>();
  for (const run of runs) {
    if (run.status !== 'succeeded' && run.status !== 'failed') continue;
    const list = byWorkflow.get(run.workflow) ?? [];
    list.push(run);
    byWorkflow.set(run.workflow, list);
  }
  let lastEnd: number | undefined;
  for (const list of byWorkflow.values()) {
    list.sort((a, b) => Date.parse(a.createdAt) - Date.parse(b.createdAt));
    let redSince: number | undefined;
    for (const run of list) {
      const at = Date.parse(run.createdAt);
      if (run.status === 'failed') {
        redSince ??= at;
        continue;
      }
      if (redSince !== undefined) {
        const green = Date.parse(run.finishedAt ?? run.createdAt);
        if (green - redSince > DAY) {
          lastEnd = Math.max(lastEnd ?? -Infinity, green);
        }
        redSince = undefined;
      }
    }
    if (redSince !== undefined && now - redSince > DAY) {
      lastEnd = now;
    }
  }
  if (lastEnd === undefined) return undefined;
  return Math.round(((now - lastEnd) / DAY) * 100) / 100;
}

/**
 * A Tech Insights fact retriever publishing each CI entity's health: the
 * figures of its CI tab on the default branch over 30 days, days since the
 * default branch was last red for over a day, and whether alerts are set.
 * It reads CI Experience's HTTP API with the tech-insights plugin's own
 * service credentials, for the entities carrying a CI annotation (the
 * built-in providers' and those modules declare).
 *
 * @public
 */
export function createCiFactRetriever(
  options: {
    now?: () => number;
    fetch?: typeof fetch;
    /** Default: the catalog's HTTP API through discovery. */
    catalog?: Pick<CatalogApi, 'getEntities'>;
  } = {},
): FactRetriever {
  const now = options.now ?? Date.now;
  const doFetch = options.fetch ?? fetch;
  return {
    id: CI_FACT_RETRIEVER_ID,
    version: '0.1.0',
    title: 'CI Experience',
    description:
      'CI health of each entity with CI: success rate, p95 duration, time to recovery and flaky rate on the default branch (30 days), days since the default branch was last red for over a day, and whether alerts are configured',
    schema: CI_FACT_SCHEMA,
    handler: async ({ discovery, auth, logger }) =>
      retrieve({
        discovery,
        auth,
        logger,
        now: now(),
        fetch: doFetch,
        catalog:
          options.catalog ?? new CatalogClient({ discoveryApi: discovery }),
      }),
  };
}

async function retrieve(ctx: {
  discovery: DiscoveryService;
  auth: AuthService;
  logger: LoggerService;
  now: number;
  fetch: typeof fetch;
  catalog: Pick<CatalogApi, 'getEntities'>;
}): Promise<TechInsightFact[]> {
  const { discovery, auth, logger } = ctx;
  const credentials = await auth.getOwnServiceCredentials();
  const tokenFor = async (targetPluginId: string) =>
    (
      await auth.getPluginRequestToken({
        onBehalfOf: credentials,
        targetPluginId,
      })
    ).token;
  const ciBase = await discovery.getBaseUrl('ci-experience');
  const ciToken = await tokenFor('ci-experience');
  const get = async <T>(path: string): Promise<T> => {
    const res = await ctx.fetch(`${ciBase}${path}`, {
      headers: { authorization: `Bearer ${ciToken}` },
    });
    if (!res.ok) {
      throw new Error(`${path} answered ${res.status}`);
    }
    return (await res.json()) as T;
  };

  const { annotations } = await get<{ annotations: string[] }>('/annotations');
  const { items } = await ctx.catalog.getEntities(
    {
      filter: annotations.map(a => ({
        [`metadata.annotations.${a}`]: CATALOG_FILTER_EXISTS,
      })),
      fields: ['kind', 'metadata.namespace', 'metadata.name'],
    },
    { token: await tokenFor('catalog') },
  );

  const facts: TechInsightFact[] = [];
  for (const entity of items) {
    try {
      facts.push(await factsOf(entity, get, ctx.now));
    } catch (error) {
      logger.warn(
        `CI facts of ${entity.kind}:${entity.metadata.namespace}/${entity.metadata.name} left out: ${error}`,
      );
    }
  }
  return facts;
}

async function factsOf(
  entity: Entity,
  get: <T>(path: string) => Promise<T>,
  now: number,
): Promise<TechInsightFact> {
  const ref = getCompoundEntityRef(entity);
  const base = `/entities/${[ref.kind, ref.namespace, ref.name]
    .map(encodeURIComponent)
    .join('/')}`;
  const insights = await get<CiInsightsResponse>(`${base}/insights?window=30d`);
  const { rules } = await get<CiAlertRulesResponse>(`${base}/alert-rules`);
  const runs: CiRun[] = [];
  let cursor: string | undefined;
  do {
    const query = new URLSearchParams({ branchScope: 'default', limit: '100' });
    if (cursor) query.set('cursor', cursor);
    const page = await get<CiRunsResponse>(`${base}/runs?${query}`);
    runs.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor && runs.length < MAX_RUNS);

  const c = insights.current;
  const out: TechInsightFact['facts'] = {
    ciRuns30d: c.runs.value ?? 0,
    ciAlertsConfigured: rules.some(r => r.enabled),
  };
  const put = (name: keyof typeof CI_FACT_SCHEMA, value?: number) => {
    if (typeof value === 'number' && Number.isFinite(value)) {
      out[name] =
        CI_FACT_SCHEMA[name].type === 'integer' ? Math.round(value) : value;
    }
  };
  put('ciSuccessRate30d', c.successRate.value);
  put('ciDurationP95Ms30d', c.durationP95.value);
  put('ciTimeToRecoveryMeanMs30d', c.timeToRecoveryMean.value);
  put('ciFlakyRate30d', c.flakyRate.value);
  // Never red for long in the runs read: at least as long as they reach back.
  const oldest = Math.min(...runs.map(r => Date.parse(r.createdAt)));
  put(
    'ciDaysSinceLongRed',
    daysSinceLongRed(runs, now) ??
      (Number.isFinite(oldest)
        ? Math.round(((now - oldest) / DAY) * 100) / 100
        : undefined),
  );
  return {
    entity: { kind: ref.kind, namespace: ref.namespace, name: ref.name },
    facts: out,
  };
}
