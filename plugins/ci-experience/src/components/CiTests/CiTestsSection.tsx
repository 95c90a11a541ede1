import {
  InfoCard,
  Link,
  Progress,
  ResponseErrorPanel,
  Table,
  TableColumn,
} from '@backstage/core-components';
import { alertApiRef, useApi } from '@backstage/core-plugin-api';
import {
  getCompoundEntityRef,
  stringifyEntityRef,
} from '@backstage/catalog-model';
import { useEntity } from '@backstage/plugin-catalog-react';
import { usePermission } from '@backstage/plugin-permission-react';
import {
  CiEntityTest,
  CiEntityTestsResponse,
  CiEntityTestTotals,
  CiTestState,
  ciTestQuarantinePermission,
} from '@ci-experience/plugin-ci-experience-common';
import Box from '@material-ui/core/Box';
import Button from '@material-ui/core/Button';
import Chip from '@material-ui/core/Chip';
import Dialog from '@material-ui/core/Dialog';
import DialogActions from '@material-ui/core/DialogActions';
import DialogContent from '@material-ui/core/DialogContent';
import DialogTitle from '@material-ui/core/DialogTitle';
import MenuItem from '@material-ui/core/MenuItem';
import TextField from '@material-ui/core/TextField';
import Typography from '@material-ui/core/Typography';
import { useCallback, useEffect, useState } from 'react';
import { ciExperienceApiRef } from '../../api';
import { formatDuration } from '../../lib/format';

/** The guide on flaky tests, in TechDocs. */
export const FLAKY_TESTS_GUIDE =
  '/docs/default/component/ci-experience/troubleshooting/flaky-tests/';

/** The card's views of the entity's tests. */
export type CiTestsView = 'flaky' | 'slowest' | 'failing';

const VIEWS: Array<{ value: CiTestsView; label: string; subheader: string }> = [
  {
    value: 'flaky',
    label: 'Flaky and broken',
    subheader: 'Flaky and broken tests, last 30 days, by time lost',
  },
  {
    value: 'slowest',
    label: 'Slowest',
    subheader: 'The 20 slowest tests, last 30 days, by mean duration',
  },
  {
    value: 'failing',
    label: 'Most failing',
    subheader: 'The 20 tests that failed most, last 30 days',
  },
];

/** The tests a view shows, in its order. */
export function testsOf(items: CiEntityTest[], view: CiTestsView) {
  if (view === 'slowest') {
    return items
      .filter(t => t.meanDurationMs !== undefined)
      .sort((a, b) => b.meanDurationMs! - a.meanDurationMs!)
      .slice(0, 20);
  }
  if (view === 'failing') {
    return items
      .filter(t => t.failures > 0)
      .sort((a, b) => b.failures - a.failures || b.runs - a.runs)
      .slice(0, 20);
  }
  return items.filter(t => t.state !== 'stable' || t.quarantined);
}

const change = (now: number, before: number, unit: (n: number) => string) =>
  now === before
    ? `${unit(now)} (same as the 30 days before)`
    : `${unit(now)} (${unit(before)} the 30 days before)`;

/** "3 flaky (1 the 30 days before) · …": the window against the one before. */
export function describeTrend(
  totals: CiEntityTestTotals,
  previous: CiEntityTestTotals,
): string {
  const rate = (t: CiEntityTestTotals) =>
    t.runs ? Math.round((t.failures / t.runs) * 1000) / 10 : 0;
  return [
    change(totals.flaky, previous.flaky, n => `${n} flaky`),
    change(rate(totals), rate(previous), n => `${n} % of test runs failed`),
    change(totals.timeLostMs, previous.timeLostMs, n =>
      n > 0 ? `${formatDuration(n)} lost to flakes` : 'no time lost to flakes',
    ),
  ].join(' · ');
}

/** How long a quarantine may be asked for, in days (the backend allows 90). */
const QUARANTINE_DAYS = [7, 14, 30, 90];

function StateChip(props: { state: CiTestState }) {
  return (
    <Chip
      size="small"
      label={props.state}
      color={props.state === 'broken' ? 'secondary' : 'default'}
      data-testid={`test-state-${props.state}`}
    />
  );
}

function QuarantineDialog(props: {
  test?: CiEntityTest;
  onClose: () => void;
  onSubmit: (reason: string, days: number) => Promise<void>;
}) {
  const { test, onClose, onSubmit } = props;
  const [reason, setReason] = useState('');
  const [days, setDays] = useState(14);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    setReason('');
    setDays(14);
  }, [test]);
  return (
    <Dialog open={!!test} onClose={onClose} fullWidth maxWidth="sm">
      <DialogTitle>Quarantine {test?.name}</DialogTitle>
      <DialogContent>
        <Typography variant="body2" paragraph>
          CI steps that read the quarantine list skip this test, or ignore its
          failure, until the quarantine expires; you are told when it lapses.
        </Typography>
        <TextField
          id="ci-quarantine-reason"
          label="Reason"
          value={reason}
          onChange={e => setReason(e.target.value)}
          fullWidth
          required
          inputProps={{ maxLength: 500 }}
          margin="normal"
        />
        <TextField
          id="ci-quarantine-days"
          select
          label="For"
          value={days}
          onChange={e => setDays(Number(e.target.value))}
          margin="normal"
        >
          {QUARANTINE_DAYS.map(d => (
            <MenuItem key={d} value={d}>
              {d} days
            </MenuItem>
          ))}
        </TextField>
      </DialogContent>
      <DialogActions>
        <Button onClick={onClose}>Cancel</Button>
        <Button
          color="primary"
          variant="contained"
          disabled={busy || reason.trim().length === 0}
          onClick={async () => {
            setBusy(true);
            try {
              await onSubmit(reason.trim(), days);
            } finally {
              setBusy(false);
            }
          }}
        >
          Quarantine
        </Button>
      </DialogActions>
    </Dialog>
  );
}

/**
 * The entity's flaky and broken tests over the last 30 days (from the test
 * results its runs reported), by time lost; its owners quarantine a test
 * or lift a quarantine here.
 */
export function CiTestsSection() {
  const { entity } = useEntity();
  const ref = getCompoundEntityRef(entity);
  const entityRef = stringifyEntityRef(entity);
  const api = useApi(ciExperienceApiRef);
  const alertApi = useApi(alertApiRef);
  const { allowed: mayQuarantine } = usePermission({
    permission: ciTestQuarantinePermission,
    resourceRef: entityRef,
  });
  const [state, setState] = useState<{
    response?: CiEntityTestsResponse;
    error?: Error;
  }>();
  const [view, setView] = useState<CiTestsView>('flaky');
  const [reloads, setReloads] = useState(0);
  const [asking, setAsking] = useState<CiEntityTest>();

  useEffect(() => {
    let current = true;
    api.getEntityTests(ref).then(
      response => current && setState({ response }),
      error => current && setState({ error }),
    );
    return () => {
      current = false;
    };
    // The entity's ref, not the object: a re-render keeps the list.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [api, entityRef, reloads]);

  const act = useCallback(
    async (what: string, fn: () => Promise<unknown>) => {
      try {
        await fn();
        alertApi.post({
          message: what,
          severity: 'success',
          display: 'transient',
        });
        setReloads(n => n + 1);
      } catch (error) {
        alertApi.post({
          message: `${(error as Error).message}`,
          severity: 'error',
        });
      }
    },
    [alertApi],
  );

  const columns: TableColumn<CiEntityTest>[] = [
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
      title: 'State',
      field: 'state',
      render: t => (
        <Box display="flex" style={{ gap: 4 }}>
          <StateChip state={t.state} />
          {t.quarantined && (
            <Chip size="small" variant="outlined" label="quarantined" />
          )}
        </Box>
      ),
    },
    { title: 'Runs', field: 'runs', type: 'numeric' },
    { title: 'Failures', field: 'failures', type: 'numeric' },
    {
      title: 'Flake rate',
      field: 'flakeRate',
      type: 'numeric',
      render: t => `${Math.round(t.flakeRate * 1000) / 10} %`,
    },
    {
      title: 'Time lost',
      field: 'timeLostMs',
      type: 'numeric',
      render: t => (t.timeLostMs > 0 ? formatDuration(t.timeLostMs) : '–'),
    },
    {
      title: 'Mean duration',
      field: 'meanDurationMs',
      type: 'numeric',
      render: t =>
        t.meanDurationMs === undefined ? '–' : formatDuration(t.meanDurationMs),
    },
  ];
  if (mayQuarantine) {
    columns.push({
      title: '',
      field: 'id',
      sorting: false,
      render: t =>
        t.quarantined ? (
          <Button
            size="small"
            onClick={() =>
              act(`Lifted the quarantine of ${t.name}`, () =>
                api.unquarantineTest(ref, t.id),
              )
            }
          >
            Lift quarantine
          </Button>
        ) : (
          <Button size="small" onClick={() => setAsking(t)}>
            Quarantine
          </Button>
        ),
    });
  }

  const items = state?.response?.items ?? [];
  const current = VIEWS.find(v => v.value === view)!;
  let body;
  if (!state) body = <Progress />;
  else if (state.error) body = <ResponseErrorPanel error={state.error} />;
  else {
    const shown = testsOf(items, view);
    const { totals, previous } = state.response ?? {};
    body = (
      <>
        {totals && previous && totals.tests > 0 && (
          <Typography
            variant="body2"
            color="textSecondary"
            paragraph
            data-testid="tests-trend"
          >
            {describeTrend(totals, previous)}
          </Typography>
        )}
        {shown.length === 0 ? (
          <Typography variant="body2" color="textSecondary">
            {items.length
              ? `No ${
                  view === 'failing' ? 'failing' : 'flaky or broken'
                } tests among ${items.length} in the last 30 days.`
              : 'No test results in the last 30 days.'}{' '}
            <Link to={FLAKY_TESTS_GUIDE}>Flaky tests</Link>
          </Typography>
        ) : (
          <Table<CiEntityTest>
            columns={columns}
            data={shown}
            options={{
              paging: shown.length > 20,
              pageSize: 20,
              search: false,
              toolbar: false,
              padding: 'dense',
            }}
          />
        )}
      </>
    );
  }
  return (
    <InfoCard
      title="Tests"
      subheader={current.subheader}
      action={
        <Box mt={1} mr={1}>
          <TextField
            select
            size="small"
            label="Show"
            value={view}
            onChange={e => setView(e.target.value as CiTestsView)}
            inputProps={{ 'data-testid': 'tests-view' }}
          >
            {VIEWS.map(v => (
              <MenuItem key={v.value} value={v.value}>
                {v.label}
              </MenuItem>
            ))}
          </TextField>
        </Box>
      }
    >
      {body}
      <QuarantineDialog
        test={asking}
        onClose={() => setAsking(undefined)}
        onSubmit={async (reason, days) => {
          const test = asking!;
          setAsking(undefined);
          await act(`Quarantined ${test.name} for ${days} days`, () =>
            api.quarantineTest(ref, test.id, {
              reason,
              expiresAt: new Date(Date.now() + days * 86400_000).toISOString(),
            }),
          );
        }}
      />
    </InfoCard>
  );
}
