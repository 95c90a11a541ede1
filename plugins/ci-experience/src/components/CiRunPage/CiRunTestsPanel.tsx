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
      </Box>
    ),
  },
  {
    title: 'Result',
    field: 'status',
    width: '120px',
    render: test => <StatusChip status={test.status} />,
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
