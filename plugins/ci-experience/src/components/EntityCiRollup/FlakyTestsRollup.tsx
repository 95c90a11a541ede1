import {
  CompoundEntityRef,
  parseEntityRef,
  stringifyEntityRef,
} from '@backstage/catalog-model';
import {
  InfoCard,
  Link,
  Progress,
  ResponseErrorPanel,
  Table,
  TableColumn,
} from '@backstage/core-components';
import { useApi } from '@backstage/core-plugin-api';
import {
  CiInsightsWindow,
  CiRollupTest,
} from '@ci-experience/plugin-ci-experience-common';
import Box from '@material-ui/core/Box';
import Chip from '@material-ui/core/Chip';
import Typography from '@material-ui/core/Typography';
import useAsync from 'react-use/esm/useAsync';
import { ciExperienceApiRef } from '../../api';
import { formatDuration } from '../../lib/format';
import { FLAKY_TESTS_GUIDE } from '../CiTests/CiTestsSection';
import { ciTabPath } from './rollup';

/**
 * The flaky tests of every component a group owns or a system holds,
 * worst first (time lost, then flake rate), each linking to its
 * component's CI tab.
 */
export function FlakyTestsRollup(props: {
  kind: 'group' | 'system';
  entityRef: CompoundEntityRef;
  window: CiInsightsWindow;
}) {
  const { kind, entityRef, window } = props;
  const api = useApi(ciExperienceApiRef);
  const refKey = stringifyEntityRef(entityRef);
  const { value, error, loading } = useAsync(
    () =>
      kind === 'group'
        ? api.getGroupFlakyTests(entityRef, window)
        : api.getSystemFlakyTests(entityRef, window),
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [api, kind, refKey, window],
  );
  const columns: TableColumn<CiRollupTest>[] = [
    {
      title: 'Test',
      field: 'name',
      render: t => (
        <Box>
          <Typography variant="body2">{t.name}</Typography>
          <Typography variant="caption" color="textSecondary">
            {t.suite}
          </Typography>
        </Box>
      ),
    },
    {
      title: 'Component',
      field: 'entityRef',
      render: t => {
        const ref = parseEntityRef(t.entityRef);
        return (
          <Box display="flex" style={{ gap: 4 }} alignItems="center">
            <Link to={ciTabPath(t.entityRef)}>{ref.name}</Link>
            {t.quarantined && (
              <Chip size="small" variant="outlined" label="quarantined" />
            )}
          </Box>
        );
      },
    },
    {
      title: 'Flake rate',
      field: 'flakeRate',
      type: 'numeric',
      render: t => `${Math.round(t.flakeRate * 1000) / 10} %`,
    },
    { title: 'Runs', field: 'runs', type: 'numeric' },
    {
      title: 'Time lost',
      field: 'timeLostMs',
      type: 'numeric',
      render: t => (t.timeLostMs > 0 ? formatDuration(t.timeLostMs) : '–'),
    },
  ];
  let body;
  if (loading) body = <Progress />;
  else if (error) body = <ResponseErrorPanel error={error} />;
  else if (!value || value.items.length === 0) {
    body = (
      <Typography variant="body2" color="textSecondary">
        No flaky tests in the {value?.entities ?? 0} components.{' '}
        <Link to={FLAKY_TESTS_GUIDE}>Flaky tests</Link>
      </Typography>
    );
  } else {
    body = (
      <Table<CiRollupTest>
        columns={columns}
        data={value.items}
        options={{
          paging: value.items.length > 20,
          pageSize: 20,
          search: false,
          toolbar: false,
          padding: 'dense',
        }}
      />
    );
  }
  return (
    <InfoCard
      title="Flaky tests"
      subheader={`Of every component ${
        kind === 'group' ? 'the team owns' : 'in the system'
      }, worst first (time lost to flakes)`}
    >
      <div data-testid="flaky-tests-rollup">{body}</div>
    </InfoCard>
  );
}
