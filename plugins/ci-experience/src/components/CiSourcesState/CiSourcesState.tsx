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

/**
 * Where the shown runs come from and how old they are, with the error of any
 * source whose last sync failed. Runs are served from the backend's store, so
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
            <WarningPanel
              title={`${providerLabel(source.provider)}: ${
                source.source
              } could not be synced`}
              message={source.error!.message}
              // The cause is the point of the panel: show it without a click.
              defaultExpanded
            />
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
