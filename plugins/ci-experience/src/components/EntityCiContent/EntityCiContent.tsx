import {
  CompoundEntityRef,
  getCompoundEntityRef,
  stringifyEntityRef,
} from '@backstage/catalog-model';
import {
  EmptyState,
  Link,
  Progress,
  ResponseErrorPanel,
} from '@backstage/core-components';
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
import Box from '@material-ui/core/Box';
import Button from '@material-ui/core/Button';
import { useEffect, useState } from 'react';
import { Route, Routes } from 'react-router-dom';
import { useCiRuns } from '../../hooks/useCiRuns';
import { usePollWhile } from '../../hooks/usePollWhile';
import { useSeenValues } from '../../hooks/useSeenValues';
import { CiAlertsSection } from '../CiAlerts';
import { CiInsightsHeader } from '../CiInsights';
import { CiFirstSyncNotice, isWaitingForFirstSync } from '../CiFirstSyncNotice';
import {
  ALL,
  ALLOWED_BRANCHES,
  CiRunFilters,
  CiRunFilterValues,
} from '../CiRunFilters';
import { CiRunPage } from '../CiRunPage';
import { CiRunsTable } from '../CiRunsTable';
import { CiSourcesState } from '../CiSourcesState';

const PAGE_SIZE = 25;
/** How often the first page is re-read while some of its runs are unfinished. */
export const LIVE_POLL_INTERVAL_MS = 5000;

const pickBranch = (run: CiRun) => run.branch;
const pickWorkflow = (run: CiRun) => run.workflow;

/** Why the run list is empty, so that it never just says "no data". */
function emptyReason(data: CiRunsResponse, filters: CiRunFilterValues): string {
  const failed = data.sources.some(source => source.error);
  if (filters.branch || filters.status || filters.workflow) {
    let where = filters.branch ? ` on branch ${filters.branch}` : '';
    if (filters.branch === ALLOWED_BRANCHES) {
      where = ' on the allowed branches';
    }
    return `No runs${where} match these filters. Try "All branches" or another status or workflow.${
      failed ? ' Some sources could not be synced, so runs may be missing.' : ''
    }`;
  }
  if (failed) {
    return 'No runs are stored, and the last sync failed: see the warning above.';
  }
  if (data.sources.every(source => !source.lastSyncedAt)) {
    return 'Nothing has been ingested yet: no sync of this CI has completed.';
  }
  return 'No CI runs have been recorded for this repository yet.';
}

function CiRunsView(props: { entityRef: CompoundEntityRef }) {
  // `branch` undefined follows the default branch once the backend names it.
  const [choice, setChoice] = useState<
    Omit<CiRunFilterValues, 'branch'> & { branch?: string }
  >({ status: ALL, workflow: ALL });
  const [defaultBranch, setDefaultBranch] = useState<string>();

  const values: CiRunFilterValues = {
    ...choice,
    branch: choice.branch ?? defaultBranch ?? ALL,
  };
  const runs = useCiRuns(
    props.entityRef,
    {
      ...(values.branch === ALLOWED_BRANCHES
        ? { branchScope: 'allowed' as const }
        : { branch: values.branch || undefined }),
      status: values.status ? [values.status] : undefined,
      workflow: values.workflow || undefined,
      provider: values.provider ? [values.provider] : undefined,
    },
    PAGE_SIZE,
  );
  const { data, error } = runs;

  const reportedDefault = data?.sources.find(
    s => s.defaultBranch,
  )?.defaultBranch;
  useEffect(() => {
    if (reportedDefault) {
      setDefaultBranch(reportedDefault);
    }
  }, [reportedDefault]);
  // The first answer, for all branches, only serves to learn the default
  // branch; it is about to be replaced, so it must not flash up as the list.
  const learningDefault =
    choice.branch === undefined && !defaultBranch && !!reportedDefault;
  const stale = runs.stale || learningDefault;

  const branches = useSeenValues(data?.items, pickBranch);
  const workflows = useSeenValues(data?.items, pickWorkflow);

  // Re-asked while any source is syncing, not only while the list is
  // empty: a source whose first sync ends after another's (Jenkins before
  // GitHub Actions) would otherwise stay "first sync under way" for good.
  const waiting =
    !!data &&
    !stale &&
    (isWaitingForFirstSync(data.items, data.sources) ||
      data.sources.some(source => source.syncing));
  usePollWhile(waiting, runs.refresh, data);
  // Runs still queued or running change within seconds (webhooks keep the
  // backend current), so the first page follows them; not once more pages
  // are loaded, as a refresh would drop them under the reader.
  const following =
    !!data &&
    !stale &&
    data.items.length <= PAGE_SIZE &&
    data.items.some(r => r.status === 'queued' || r.status === 'running');
  usePollWhile(following, runs.refresh, data, LIVE_POLL_INTERVAL_MS);

  const header = (
    <>
      <Box mb={2}>
        <CiInsightsHeader
          entityRef={props.entityRef}
          branchesSeen={branches}
          workflowsSeen={workflows}
        />
      </Box>
      <Box mb={2}>
        <CiAlertsSection />
      </Box>
    </>
  );
  if (error && !data) {
    return (
      <Box>
        {header}
        <ResponseErrorPanel error={error} />
      </Box>
    );
  }
  if (!data) {
    return (
      <Box>
        {header}
        <Progress />
      </Box>
    );
  }

  return (
    <Box>
      {header}
      {error && (
        <Box mb={2}>
          <ResponseErrorPanel error={error} />
        </Box>
      )}
      <Box mb={2}>
        <CiSourcesState sources={data.sources} />
      </Box>
      <CiRunFilters
        values={values}
        onChange={next => setChoice(next)}
        providers={[...new Set(data.sources.map(source => source.provider))]}
        defaultBranch={defaultBranch}
        branches={branches}
        allowedBranches={data.allowedBranches}
        workflows={workflows}
        onRefresh={runs.refresh}
        refreshing={runs.loading}
      />
      {waiting ? (
        <CiFirstSyncNotice sources={data.sources} />
      ) : (
        <CiRunsTable
          runs={data.items}
          loading={runs.loading || stale}
          emptyContent={
            <Box p={3} textAlign="center">
              {emptyReason(data, values)}
            </Box>
          }
          footer={
            data.nextCursor &&
            !stale && (
              <Box mt={2} display="flex" justifyContent="center">
                <Button
                  variant="outlined"
                  onClick={runs.loadMore}
                  disabled={runs.loadingMore}
                >
                  {runs.loadingMore ? 'Loading…' : 'Load more'}
                </Button>
              </Box>
            )
          }
        />
      )}
    </Box>
  );
}

/**
 * The CI tab of an entity page. Its own routes, relative to the tab:
 *
 * - `/`: a health header (figures of a window beside the previous one,
 *   charts and rankings), the entity's alert rules and their firings, then
 *   the entity's runs with filters, the state of the sources they come
 *   from, and paging;
 * - `runs/:runId`: one run, with its jobs on a timeline, logs, failure
 *   classes, attempts, and rerun and cancel. Its URL can be shared.
 *
 * @public
 */
export function EntityCiContent() {
  const { entity } = useEntity();
  if (!hasCiAnnotation(entity)) {
    return (
      <MissingAnnotationEmptyState
        annotation={GITHUB_PROJECT_SLUG_ANNOTATION}
      />
    );
  }
  // Keyed so that filters and pages start over for another entity.
  const key = stringifyEntityRef(entity);
  return (
    <Routes>
      <Route
        path="/"
        element={
          <CiRunsView key={key} entityRef={getCompoundEntityRef(entity)} />
        }
      />
      <Route path="runs/:runId" element={<CiRunPage key={key} />} />
      <Route
        path="*"
        element={
          <EmptyState
            missing="content"
            title="No such page in the CI tab"
            description="The link may be incomplete. The runs of this entity are one click away."
            action={<Link to=".">Show all runs</Link>}
          />
        }
      />
    </Routes>
  );
}
