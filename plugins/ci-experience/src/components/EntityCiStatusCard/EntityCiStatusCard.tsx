import {
  CompoundEntityRef,
  getCompoundEntityRef,
  stringifyEntityRef,
} from '@backstage/catalog-model';
import {
  InfoCard,
  Link,
  Progress,
  ResponseErrorPanel,
} from '@backstage/core-components';
import { useApi } from '@backstage/core-plugin-api';
import {
  MissingAnnotationEmptyState,
  useEntity,
} from '@backstage/plugin-catalog-react';
import {
  CiRun,
  CiRunsResponse,
  GITHUB_PROJECT_SLUG_ANNOTATION,
  hasCiAnnotation,
} from '@ci-experience/plugin-ci-experience-common';
import List from '@material-ui/core/List';
import ListItem from '@material-ui/core/ListItem';
import ListItemText from '@material-ui/core/ListItemText';
import Typography from '@material-ui/core/Typography';
import useAsyncRetry from 'react-use/esm/useAsyncRetry';
import { ciExperienceApiRef } from '../../api';
import { usePollWhile } from '../../hooks/usePollWhile';
import { formatRelativeTime, formatRunNumber } from '../../lib/format';
import { CiFirstSyncNotice, isWaitingForFirstSync } from '../CiFirstSyncNotice';
import { CiRunStatus } from '../CiRunStatus';
import { CiSourcesState } from '../CiSourcesState';

// The backend's largest page; enough to find every workflow's latest run on
// the default branch in all but very busy repositories.
const LIMIT = 100;

/** The newest run of each workflow; `runs` is newest first. */
function latestPerWorkflow(runs: CiRun[]): CiRun[] {
  const latest = new Map<string, CiRun>();
  for (const run of runs) {
    if (!latest.has(run.workflow)) {
      latest.set(run.workflow, run);
    }
  }
  return [...latest.values()];
}

type CardData = { response: CiRunsResponse; defaultBranch?: string };

function useDefaultBranchRuns(entityRef: CompoundEntityRef) {
  const api = useApi(ciExperienceApiRef);
  const refKey = stringifyEntityRef(entityRef);
  return useAsyncRetry(async (): Promise<CardData> => {
    // The default branch is only known from the backend's source state, so
    // the first call learns it; the second asks for that branch alone, so
    // that busy feature branches cannot push its runs out of the page.
    const first = await api.getRuns(entityRef, { limit: LIMIT });
    const defaultBranch = first.sources.find(
      s => s.defaultBranch,
    )?.defaultBranch;
    if (!defaultBranch) {
      return { response: first };
    }
    const response = await api.getRuns(entityRef, {
      branch: defaultBranch,
      limit: LIMIT,
    });
    return { response, defaultBranch };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [api, refKey]);
}

function CiStatusList(props: { entityRef: CompoundEntityRef }) {
  const { value, loading, error, retry } = useDefaultBranchRuns(
    props.entityRef,
  );
  const waiting =
    !!value &&
    isWaitingForFirstSync(value.response.items, value.response.sources);
  usePollWhile(waiting, retry, value);

  if (error) {
    return <ResponseErrorPanel error={error} />;
  }
  if (!value) {
    return loading ? <Progress /> : null;
  }
  const { response, defaultBranch } = value;
  const latest = latestPerWorkflow(response.items);

  let body;
  if (waiting) {
    body = <CiFirstSyncNotice sources={response.sources} />;
  } else if (latest.length === 0) {
    body = (
      <Typography variant="body2">
        {defaultBranch
          ? `No runs on the default branch ${defaultBranch} yet.`
          : 'No runs have been ingested yet.'}
      </Typography>
    );
  } else {
    body = (
      <List dense disablePadding>
        {latest.map(run => (
          <ListItem key={run.id} disableGutters>
            <ListItemText
              primary={
                <>
                  <CiRunStatus status={run.status} /> {run.workflow}{' '}
                  <Link to={run.url}>{formatRunNumber(run)}</Link>
                </>
              }
              secondary={[
                run.branch,
                formatRelativeTime(run.startedAt ?? run.createdAt),
              ]
                .filter(Boolean)
                .join(' · ')}
            />
          </ListItem>
        ))}
      </List>
    );
  }

  return (
    <>
      {body}
      <CiSourcesState sources={response.sources} />
    </>
  );
}

/**
 * A card with the latest run of each workflow on the entity's default
 * branch.
 *
 * @public
 */
export function EntityCiStatusCard() {
  const { entity } = useEntity();
  return (
    <InfoCard title="CI status">
      {hasCiAnnotation(entity) ? (
        <CiStatusList
          key={stringifyEntityRef(entity)}
          entityRef={getCompoundEntityRef(entity)}
        />
      ) : (
        <MissingAnnotationEmptyState
          annotation={GITHUB_PROJECT_SLUG_ANNOTATION}
        />
      )}
    </InfoCard>
  );
}
