import {
  InfoCard,
  Progress,
  ResponseErrorPanel,
  StatusError,
  StatusOK,
  StatusWarning,
  Table,
  TableColumn,
} from '@backstage/core-components';
import {
  discoveryApiRef,
  fetchApiRef,
  useApi,
} from '@backstage/frontend-plugin-api';
import { useEntity } from '@backstage/plugin-catalog-react';
import { ResponseError } from '@backstage/errors';
import { useEffect, useState } from 'react';

/**
 * One check's outcome as Tech Insights' backend returns it from
 * `POST /api/tech-insights/checks/run/{namespace}/{kind}/{name}`
 * (`CheckResult` of `@backstage-community/plugin-tech-insights-common`).
 */
export type CheckResult = {
  check: { id: string; name: string; description?: string };
  facts: Record<string, { value?: unknown } | undefined>;
  result: boolean;
};

/** The checks the demo portal configures on CI Experience's facts. */
export const CI_CHECKS = ['ciSuccessRate', 'ciNotRedForLong', 'ciAlerts'];

type Row = {
  id: string;
  name: string;
  description?: string;
  outcome: 'passed' | 'failed' | 'no data';
  value: string;
};

/** A fact's value for reading: fractions to two decimals. */
function show(value: unknown): string {
  return typeof value === 'number' && !Number.isInteger(value)
    ? String(Math.round(value * 100) / 100)
    : String(value);
}

function outcomeOf(hasFacts: boolean, passed: boolean): Row['outcome'] {
  if (!hasFacts) return 'no data';
  return passed ? 'passed' : 'failed';
}

function rowOf(result: CheckResult): Row {
  const values = Object.entries(result.facts ?? {}).filter(
    ([, fact]) => fact?.value !== undefined && fact?.value !== null,
  );
  return {
    id: result.check.id,
    name: result.check.name,
    description: result.check.description,
    // A fact the retriever left out (no sample) is "no data", not a fail.
    outcome: outcomeOf(values.length > 0, result.result),
    value: values
      .map(([name, fact]) => `${name}: ${show(fact?.value)}`)
      .join(', '),
  };
}

const columns: TableColumn<Row>[] = [
  {
    title: 'Check',
    field: 'name',
    render: row => (
      <span title={row.description}>
        {row.outcome === 'passed' && <StatusOK />}
        {row.outcome === 'failed' && <StatusError />}
        {row.outcome === 'no data' && <StatusWarning />}
        {row.name}
      </span>
    ),
  },
  { title: 'Result', field: 'outcome' },
  { title: 'Facts', field: 'value' },
];

/**
 * The demo portal's "CI scorecard" card: Tech Insights' checks on CI
 * Experience's facts for the entity (docs/scorecards.md). Tech Insights'
 * own frontend plugin is not on this registry, so the card reads its
 * backend directly.
 */
export function CiScorecardCard() {
  const { entity } = useEntity();
  const discoveryApi = useApi(discoveryApiRef);
  const fetchApi = useApi(fetchApiRef);
  const [state, setState] = useState<
    { rows?: Row[]; error?: Error } | undefined
  >();
  const namespace = entity.metadata.namespace ?? 'default';
  const { kind } = entity;
  const { name } = entity.metadata;

  useEffect(() => {
    let cancelled = false;
    (async () => {
      const base = await discoveryApi.getBaseUrl('tech-insights');
      const response = await fetchApi.fetch(
        `${base}/checks/run/${encodeURIComponent(
          namespace,
        )}/${encodeURIComponent(kind)}/${encodeURIComponent(name)}`,
        {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ checks: CI_CHECKS }),
        },
      );
      if (!response.ok) throw await ResponseError.fromResponse(response);
      const results = (await response.json()) as CheckResult[];
      const rows = results.map(rowOf);
      // Tech Insights skips a check whose facts are missing (no sample, or
      // not retrieved yet): it is listed as "no data".
      for (const id of CI_CHECKS) {
        if (!rows.some(row => row.id === id)) {
          rows.push({ id, name: id, outcome: 'no data', value: '' });
        }
      }
      return rows;
    })().then(
      rows => !cancelled && setState({ rows }),
      error => !cancelled && setState({ error }),
    );
    return () => {
      cancelled = true;
    };
  }, [discoveryApi, fetchApi, namespace, kind, name]);

  let body;
  if (!state) body = <Progress />;
  else if (state.error) body = <ResponseErrorPanel error={state.error} />;
  else
    body = (
      <Table<Row>
        columns={columns}
        data={state.rows ?? []}
        options={{ paging: false, search: false, toolbar: false }}
        emptyContent={<div>No checks yet: Tech Insights has not run.</div>}
      />
    );
  return (
    <InfoCard
      title="CI scorecard"
      subheader="Tech Insights checks on CI Experience's facts"
    >
      {body}
    </InfoCard>
  );
}
