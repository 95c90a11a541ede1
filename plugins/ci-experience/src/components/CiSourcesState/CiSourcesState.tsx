import { WarningPanel } from '@backstage/core-components';
import { CiSourceState } from '@ci-experience/plugin-ci-experience-common';
import Box from '@material-ui/core/Box';
import Typography from '@material-ui/core/Typography';
import { formatRelativeTime, providerLabel } from '../../lib/format';

function dataAge(source: CiSourceState): string {
  if (source.notConfigured) {
    return source.notConfigured;
  }
  if (source.syncing) {
    return source.lastSyncedAt
      ? `syncing now, last synced ${formatRelativeTime(source.lastSyncedAt)}`
      : 'first sync under way';
  }
  const age = formatRelativeTime(source.lastSyncedAt);
  return age ? `synced ${age}` : 'never synced';
}

/** `GitHub unreachable since 2026-12-02T13:00:00.000Z`, the backend's breaker. */
const UNREACHABLE =
  /(\w[\w.-]*) unreachable since (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z)/;

/** The provider and since when, when the sync failed because it is unreachable. */
export function unreachableSince(
  message: string,
): { label: string; since: string } | undefined {
  const match = message.match(UNREACHABLE);
  return match ? { label: match[1], since: match[2] } : undefined;
}

function absoluteTime(iso: string): string {
  return new Date(iso).toLocaleString('en', {
    dateStyle: 'medium',
    timeStyle: 'short',
  });
}

/** The panel of a source whose last sync failed. */
function SyncErrorPanel(props: { source: CiSourceState }) {
  const { source } = props;
  const message = source.error!.message;
  const unreachable = unreachableSince(message);
  if (unreachable) {
    const relative = formatRelativeTime(unreachable.since);
    return (
      <WarningPanel
        severity="error"
        title={`${unreachable.label} unreachable since ${absoluteTime(
          unreachable.since,
        )}${relative ? ` (${relative})` : ''}`}
        message={`${source.source}: the portal stopped calling ${
          unreachable.label
        } after repeated failures and checks now and then whether it answers again. The runs below are the ones stored before; ${
          source.lastSyncedAt
            ? `last synced ${formatRelativeTime(source.lastSyncedAt)}`
            : 'never synced'
        }.`}
        defaultExpanded
      />
    );
  }
  return (
    <WarningPanel
      title={`${providerLabel(source.provider)}: ${
        source.source
      } could not be synced`}
      message={message}
      // The cause is the point of the panel: show it without a click.
      defaultExpanded
    />
  );
}

/**
 * Where the shown runs come from and how old they are, with the error of any
 * source whose last sync failed; a provider the backend's circuit breaker
 * stopped calling reads "GitHub unreachable since 5 minutes ago (…)", above
 * the runs stored before. Runs are served from the backend's store, so
 * people need the data age to know whether a missing run is just not synced
 * yet.
 */
export function CiSourcesState(props: { sources: CiSourceState[] }) {
  const { sources } = props;
  return (
    <>
      {sources
        .filter(source => source.error)
        .map(source => (
          <Box mb={2} key={`error:${source.provider}:${source.source}`}>
            <SyncErrorPanel source={source} />
          </Box>
        ))}
      {sources.map(source => (
        <Typography
          key={`age:${source.provider}:${source.source}`}
          variant="caption"
          color="textSecondary"
          component="p"
        >
          {providerLabel(source.provider)} · {source.source} · {dataAge(source)}
        </Typography>
      ))}
    </>
  );
}
