import {
  Content,
  EmptyState,
  Header,
  InfoCard,
  Page,
  Progress,
  ResponseErrorPanel,
  StatusError,
  StatusOK,
  StatusWarning,
  Table,
  TableColumn,
} from '@backstage/core-components';
import { useApi } from '@backstage/core-plugin-api';
import { usePermission } from '@backstage/plugin-permission-react';
import {
  ciAdminReadPermission,
  CiOperatorHost,
  CiOperatorSource,
  CiOperatorStatus,
  CiWebhookOutcomes,
} from '@ci-experience/plugin-ci-experience-common';
import Box from '@material-ui/core/Box';
import Button from '@material-ui/core/Button';
import Grid from '@material-ui/core/Grid';
import LinearProgress from '@material-ui/core/LinearProgress';
import Typography from '@material-ui/core/Typography';
import useAsyncRetry from 'react-use/esm/useAsyncRetry';
import { ciOperatorApiRef } from '../../api/CiOperatorApi';
import {
  formatDuration,
  formatRelativeTime,
  providerLabel,
} from '../../lib/format';

const OUTCOMES: Array<{ key: keyof CiWebhookOutcomes; label: string }> = [
  { key: 'accepted', label: 'Accepted' },
  { key: 'duplicate', label: 'Duplicate' },
  { key: 'unclaimed', label: 'Unclaimed' },
  { key: 'rejected', label: 'Rejected' },
  { key: 'malformed', label: 'Malformed' },
];

const count = (n: number) => n.toLocaleString('en-US');

function Breaker({ host }: { host: CiOperatorHost }) {
  const { state, since } = host.breaker;
  const when = since ? ` since ${new Date(since).toLocaleString()}` : '';
  if (state === 'open') {
    return <StatusError>Breaker open: unreachable{when}</StatusError>;
  }
  if (state === 'half-open') {
    return <StatusWarning>Breaker half-open: probing{when}</StatusWarning>;
  }
  return <StatusOK>Breaker closed</StatusOK>;
}

function HostCard({ host }: { host: CiOperatorHost }) {
  const { limit, used, remaining, resetAt, share } = host.budget;
  const budget = Number.isFinite(limit) ? Math.floor(limit * share) : 0;
  const usedPercent = budget > 0 ? Math.min(100, (used / budget) * 100) : 0;
  return (
    <InfoCard
      title={host.host}
      subheader={`${providerLabel(host.provider)} · ${host.inFlight} in flight`}
    >
      <Typography variant="body2">
        Budget: {count(used)} used, {count(remaining)} left of{' '}
        {budget > 0 ? count(budget) : 'an unknown limit'} (
        {Math.round(share * 100)} % of{' '}
        {Number.isFinite(limit) ? count(limit) : '?'} per hour); renews{' '}
        {formatRelativeTime(resetAt) ?? 'unknown'}
      </Typography>
      <Box my={1}>
        <LinearProgress
          variant="determinate"
          value={usedPercent}
          color={usedPercent >= 90 ? 'secondary' : 'primary'}
          aria-label={`${host.host} budget used`}
        />
      </Box>
      <Breaker host={host} />
      {host.breaker.lastError && (
        <Typography variant="body2" color="textSecondary">
          Last error: {host.breaker.lastError}
        </Typography>
      )}
    </InfoCard>
  );
}

const sourceColumns: TableColumn<CiOperatorSource>[] = [
  {
    title: 'Source',
    field: 'source',
    render: s => (
      <>
        <Typography variant="body2">{s.source}</Typography>
        <Typography variant="caption" color="textSecondary">
          {providerLabel(s.provider)}
          {s.host ? ` · ${s.host}` : ''}
        </Typography>
      </>
    ),
  },
  { title: 'Mode', field: 'mode' },
  {
    title: 'Last sync',
    render: s => formatRelativeTime(s.lastSyncedAt) ?? 'never',
  },
  {
    title: 'Lag',
    render: s => (s.lagMs === undefined ? '—' : formatDuration(s.lagMs)),
  },
  {
    title: 'Error',
    render: s => (s.error ? <StatusError>{s.error}</StatusError> : '—'),
  },
  {
    title: 'Next poll',
    render: s => formatRelativeTime(s.nextPollAt) ?? '—',
  },
  {
    title: 'Webhook-fed',
    render: s => (s.webhookFed ? 'yes' : 'no (polled)'),
  },
];

function StatusView({
  status,
  onRefresh,
}: {
  status: CiOperatorStatus;
  onRefresh: () => void;
}) {
  const depth = (n: number) =>
    n >= status.queueCountCap ? `${count(status.queueCountCap)}+` : count(n);
  const { lagMs } = status.webhooks;
  return (
    <Grid container spacing={3}>
      <Grid item xs={12}>
        <Box display="flex" alignItems="center" justifyContent="space-between">
          <Typography variant="body2" color="textSecondary">
            Gathered {formatRelativeTime(status.generatedAt) ?? 'now'} by one
            replica: budgets, breakers and webhook figures are its own.
          </Typography>
          <Button variant="outlined" onClick={onRefresh}>
            Refresh
          </Button>
        </Box>
      </Grid>
      <Grid item xs={12}>
        <Typography variant="h6">Provider hosts</Typography>
      </Grid>
      {status.hosts.length === 0 && (
        <Grid item xs={12}>
          <Typography variant="body2">
            No provider host has been called yet.
          </Typography>
        </Grid>
      )}
      {status.hosts.map(host => (
        <Grid item xs={12} md={6} lg={4} key={`${host.provider} ${host.host}`}>
          <HostCard host={host} />
        </Grid>
      ))}
      <Grid item xs={12} md={6}>
        <InfoCard title="Webhook intake" subheader="Since this replica started">
          <Table
            options={{ paging: false, search: false, toolbar: false }}
            columns={[
              { title: 'Outcome', field: 'label' },
              { title: 'Deliveries', field: 'value', type: 'numeric' },
            ]}
            data={OUTCOMES.map(o => ({
              label: o.label,
              value: status.webhooks.byOutcome[o.key],
            }))}
          />
          <Typography variant="body2">
            {lagMs
              ? `Intake lag: p50 ${formatDuration(
                  lagMs.p50,
                )}, p95 ${formatDuration(lagMs.p95)}`
              : 'Intake lag: no delivery applied yet'}
          </Typography>
        </InfoCard>
      </Grid>
      <Grid item xs={12} md={6}>
        <InfoCard title="Queues" subheader="Items waiting">
          <Table
            options={{ paging: false, search: false, toolbar: false }}
            columns={[
              { title: 'Queue', field: 'label' },
              { title: 'Waiting', field: 'value', align: 'right' },
            ]}
            data={[
              { label: 'Failure triage', value: depth(status.queues.triage) },
              {
                label: 'Insights aggregation',
                value: depth(status.queues.aggregation),
              },
              {
                label: 'Alert notification outbox',
                value: depth(status.queues.outbox),
              },
            ]}
          />
        </InfoCard>
      </Grid>
      <Grid item xs={12}>
        <Table
          title={`Sources, worst first (${count(
            status.sources.length,
          )} of ${count(status.sourcesTotal)})`}
          options={{
            paging: true,
            pageSize: 20,
            search: true,
            padding: 'dense',
          }}
          columns={sourceColumns}
          data={status.sources}
        />
      </Grid>
    </Grid>
  );
}

/**
 * The CI operations page's content, without a page header (the new
 * frontend system's page adds one): provider hosts with budgets and
 * breakers, sources worst first, webhook intake and queue depths. Shown to
 * those granted `ci-experience.admin.read`; the backend checks it again.
 *
 * @public
 */
export function CiOperationsContent() {
  const permission = usePermission({ permission: ciAdminReadPermission });
  if (permission.loading) {
    return <Progress />;
  }
  if (!permission.allowed) {
    return (
      <EmptyState
        missing="info"
        title="You need the ci-experience.admin.read permission"
        description="The CI operations page shows provider budgets, breakers, every source's sync state and the queues of the whole portal; ask your portal's admins for the ci-experience.admin.read permission."
      />
    );
  }
  return <AllowedContent />;
}

function AllowedContent() {
  const api = useApi(ciOperatorApiRef);
  const { value, loading, error, retry } = useAsyncRetry(
    () => api.getOperatorStatus(),
    [api],
  );
  if (error) {
    return <ResponseErrorPanel error={error} />;
  }
  if (loading && !value) {
    return <Progress />;
  }
  return value ? <StatusView status={value} onRefresh={retry} /> : null;
}

/**
 * The CI operations page, with its header, for apps on the legacy frontend
 * system.
 *
 * @public
 */
export function CiOperationsPage() {
  return (
    <Page themeId="tool">
      <Header
        title="CI operations"
        subtitle="Provider budgets and breakers, source sync, webhook intake and queues"
      />
      <Content>
        <CiOperationsContent />
      </Content>
    </Page>
  );
}
