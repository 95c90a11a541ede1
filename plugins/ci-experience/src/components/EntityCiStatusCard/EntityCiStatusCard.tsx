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
import {
  formatRelativeTime,
  formatRunNumber,
  providerLabel,
  workflowName,
} from '../../lib/format';
import { CiFirstSyncNotice, isWaitingForFirstSync } from '../CiFirstSyncNotice';
import { CiProviderIcon } from '../CiProviderIcon';
import { CiRunStatus } from '../CiRunStatus';
import { CiSourcesState } from '../CiSourcesState';

// The backend's largest page; enough to find every workflow's latest run on
// the default branches in all but very busy repositories.
const LIMIT = 100;

/** The newest run of each workflow of each source; `runs` is newest first. */
function latestPerWorkflow(runs: CiRun[]): CiRun[] {
  const latest = new Map<string, CiRun>();
  for (const run of runs) {
    const key = [run.provider, run.source, run.workflow].join('\u0000');
    if (!latest.has(key)) {
      latest.set(key, run);
    }
  }
  return [...latest.values()];
}

type CardData = {
  response: CiRunsResponse;
  /** True when no source knows its default branch: runs of any branch. */
  anyBranch?: boolean;
};

function useDefaultBranchRuns(entityRef: CompoundEntityRef) {
  const api = useApi(ciExperienceApiRef);
  const refKey = stringifyEntityRef(entityRef);
  return useAsyncRetry(async (): Promise<CardData> => {
    // Each source's runs on its own default branch, in one call: busy
    // feature branches cannot push them out of the page, and a GitLab
    // project on `main` beside a repository on `develop` each count.
    const response = await api.getRuns(entityRef, {
      branchScope: 'default',
      limit: LIMIT,
    });
    const noneKnown =
      response.items.length === 0 &&
      response.sources.length > 0 &&
      response.sources.every(s => !s.defaultBranch && !s.syncing);
    if (!noneKnown) {
      return { response };
    }
    // No source names a default branch (a Jenkins job, say): the latest
    // runs of any branch rather than an empty card.
    return {
      response: await api.getRuns(entityRef, { limit: LIMIT }),
      anyBranch: true,
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [api, refKey]);
}

function distinct(values: Array<string | undefined>): string[] {
  return [...new Set(values.filter((v): v is string => !!v))].sort();
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
  const { response, anyBranch } = value;
  const latest = latestPerWorkflow(response.items);
  const defaults = distinct(response.sources.map(s => s.defaultBranch));
  // Synced sources without a known default branch list nothing here.
  const left = anyBranch
    ? []
    : response.sources.filter(
        s => !s.defaultBranch && !s.syncing && !s.notConfigured,
      );

  let body;
  if (waiting) {
    body = <CiFirstSyncNotice sources={response.sources} />;
  } else if (latest.length === 0) {
    let text = 'No runs have been ingested yet.';
    if (defaults.length === 1) {
      text = `No runs on the default branch ${defaults[0]} yet.`;
    } else if (defaults.length > 1) {
      text = `No runs on the default branches (${defaults.join(', ')}) yet.`;
    }
    body = <Typography variant="body2">{text}</Typography>;
  } else {
    body = (
      <List dense disablePadding>
        {latest.map(run => (
          <ListItem key={run.id} disableGutters>
            <ListItemText
              primary={
                <>
                  <CiRunStatus status={run.status} />{' '}
                  <CiProviderIcon provider={run.provider} />{' '}
                  <span title={run.workflow}>{workflowName(run)}</span>{' '}
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
      {anyBranch && latest.length > 0 && (
        <Typography variant="caption" color="textSecondary" component="p">
          No source names a default branch: the latest run of each workflow on
          any branch.
        </Typography>
      )}
      {left.length > 0 && (
        <Typography variant="caption" color="textSecondary" component="p">
          Not shown:{' '}
          {left.map(s => `${providerLabel(s.provider)} ${s.source}`).join(', ')}
          , whose default branch is not known.
        </Typography>
      )}
      <CiSourcesState sources={response.sources} />
    </>
  );
}

/**
 * A card with the latest run of each workflow on its source's default
 * branch (each source's own: `main` here, `develop` there).
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
