import {
  Link,
  Progress,
  ResponseErrorPanel,
  Table,
  TableColumn,
} from '@backstage/core-components';
import { useApi } from '@backstage/core-plugin-api';
import {
  CiRunTest,
  CiTestStatus,
} from '@ci-experience/plugin-ci-experience-common';
import Box from '@material-ui/core/Box';
import Chip from '@material-ui/core/Chip';
import Typography from '@material-ui/core/Typography';
import { useEffect, useState } from 'react';
import { ciExperienceApiRef } from '../../api';
import { formatDuration } from '../../lib/format';

/** docs/tests.md in TechDocs: how a CI step sends its results. */
export const TESTS_GUIDE = '/docs/default/component/ci-experience/tests/';

const LABEL: Record<CiTestStatus, string> = {
  failed: 'failed',
  error: 'error',
  flaky: 'flaky',
  skipped: 'skipped',
  passed: 'passed',
};

function StatusChip(props: { status: CiTestStatus }) {
  const { status } = props;
  const bad = status === 'failed' || status === 'error';
  return (
    <Chip
      size="small"
      label={LABEL[status]}
      color={bad ? 'secondary' : 'default'}
      variant={status === 'flaky' || bad ? 'default' : 'outlined'}
      data-testid={`test-status-${status}`}
    />
  );
}

const HISTORY_COLOR: Record<CiTestStatus, string> = {
  passed: '#2e7d32',
  failed: '#c62828',
  error: '#c62828',
  flaky: '#ef6c00',
  skipped: '#9e9e9e',
};

/**
 * The test's last results in this workflow, oldest first, one bar each:
 * green passed, red failed, orange flaky, grey skipped; this run's last.
 */
export function TestHistory(props: { history?: CiTestStatus[] }) {
  const history = props.history ?? [];
  if (history.length === 0) return null;
  const counts = (s: CiTestStatus) => history.filter(h => h === s).length;
  const failed = counts('failed') + counts('error');
  const label = `Last ${history.length} results: ${[
    `${counts('passed')} passed`,
    failed ? `${failed} failed` : '',
    counts('flaky') ? `${counts('flaky')} flaky` : '',
    counts('skipped') ? `${counts('skipped')} skipped` : '',
  ]
    .filter(Boolean)
    .join(', ')}`;
  return (
    <svg
      width={history.length * 4}
      height={14}
      role="img"
      aria-label={label}
      data-testid="test-history"
    >
      <title>{label}</title>
      {history.map((status, i) => (
        <rect
          key={i}
          x={i * 4}
          y={status === 'passed' ? 6 : 0}
          width={3}
          height={status === 'passed' ? 8 : 14}
          fill={HISTORY_COLOR[status]}
          data-status={status}
        />
      ))}
    </svg>
  );
}

const columns: TableColumn<CiRunTest>[] = [
  {
    title: 'Test',
    field: 'name',
    render: test => (
      <Box>
        <Typography variant="body2">{test.name}</Typography>
        <Typography variant="caption" color="textSecondary">
          {[test.suite, test.classname !== test.suite ? test.classname : '']
            .filter(Boolean)
            .join(' · ')}
        </Typography>
        {test.message && (
          <Typography
            variant="body2"
            component="pre"
            style={{ whiteSpace: 'pre-wrap', margin: '4px 0 0' }}
          >
            {test.message}
          </Typography>
        )}
        {test.guide && (
          <Typography variant="body2" data-testid="test-guide">
            {test.guide.title}: <Link to={test.guide.url}>How to fix</Link>
          </Typography>
        )}
      </Box>
    ),
  },
  {
    title: 'Result',
    field: 'status',
    width: '140px',
    render: test => (
      <Box display="flex" flexWrap="wrap" style={{ gap: 4 }}>
        <StatusChip status={test.status} />
        {test.quarantined && (
          <Chip
            size="small"
            variant="outlined"
            label="quarantined"
            data-testid="test-quarantined"
          />
        )}
      </Box>
    ),
  },
  {
    title: 'Last results',
    field: 'history',
    width: '140px',
    sorting: false,
    render: test => <TestHistory history={test.history} />,
  },
  {
    title: 'Duration',
    field: 'durationMs',
    width: '120px',
    render: test =>
      test.durationMs === undefined ? '' : formatDuration(test.durationMs),
  },
];

/**
 * The run attempt's tests, failed first with their messages, flaky ones
 * marked; or how to send them when none arrived.
 */
export function CiRunTestsPanel(props: { runId: string }) {
  const { runId } = props;
  const api = useApi(ciExperienceApiRef);
  const [state, setState] = useState<{
    runId: string;
    items?: CiRunTest[];
    error?: Error;
  }>();

  useEffect(() => {
    let current = true;
    api.getRunTests(runId).then(
      ({ items }) => current && setState({ runId, items }),
      error => current && setState({ runId, error }),
    );
    return () => {
      current = false;
    };
  }, [api, runId]);

  if (!state || state.runId !== runId) return <Progress />;
  if (state.error) return <ResponseErrorPanel error={state.error} />;
  const items = state.items ?? [];
  if (items.length === 0) {
    return (
      <Typography variant="body2" color="textSecondary">
        No test results for this run. A CI step can send its JUnit reports with
        one <code>curl</code>: <Link to={TESTS_GUIDE}>Test results</Link>.
      </Typography>
    );
  }
  const count = (s: CiTestStatus) => items.filter(t => t.status === s).length;
  const failed = count('failed') + count('error');
  const summary = [
    `${items.length} tests`,
    failed ? `${failed} failed` : '',
    count('flaky') ? `${count('flaky')} flaky` : '',
    count('skipped') ? `${count('skipped')} skipped` : '',
  ]
    .filter(Boolean)
    .join(', ');
  return (
    <Box>
      <Typography variant="body2" data-testid="tests-summary">
        {summary}
      </Typography>
      <Table<CiRunTest>
        columns={columns}
        data={items}
        options={{
          paging: items.length > 50,
          pageSize: 50,
          search: items.length > 10,
          padding: 'dense',
          toolbar: items.length > 10,
        }}
      />
    </Box>
  );
}
