import { CiSourceState } from '@ci-experience/plugin-ci-experience-common';
import Alert from '@material-ui/lab/Alert';

/**
 * Whether the runs are empty only because a sync is still fetching them; the
 * page polls in that case rather than claiming there are no runs.
 */
export function isWaitingForFirstSync(
  items: unknown[],
  sources: CiSourceState[],
): boolean {
  return items.length === 0 && sources.some(source => source.syncing);
}

/** Says which sources are being synced for the first time. */
export function CiFirstSyncNotice(props: { sources: CiSourceState[] }) {
  const syncing = props.sources.filter(source => source.syncing);
  return (
    <Alert severity="info">
      {syncing.map(source => (
        <div key={`${source.provider}:${source.source}`}>
          First sync of {source.source} under way… Runs appear here as soon as
          it has fetched them.
        </div>
      ))}
    </Alert>
  );
}
