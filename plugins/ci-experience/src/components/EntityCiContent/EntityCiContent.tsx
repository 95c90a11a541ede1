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
  CiSourceState,
  GITHUB_PROJECT_SLUG_ANNOTATION,
} from '@ci-experience/plugin-ci-experience-common';
import Box from '@material-ui/core/Box';
import Button from '@material-ui/core/Button';
import Typography from '@material-ui/core/Typography';
import { useEffect, useState } from 'react';
import { Route, Routes } from 'react-router-dom';
import { CiRunsFilters, useCiRuns } from '../../hooks/useCiRuns';
import { usePollWhile } from '../../hooks/usePollWhile';
import { useHasCi } from '../../hooks/useHasCi';
import { useSeenValues } from '../../hooks/useSeenValues';
import { CiAlertsSection } from '../CiAlerts';
import { CiInsightsHeader } from '../CiInsights';
import { CiFirstSyncNotice, isWaitingForFirstSync } from '../CiFirstSyncNotice';
import {
  ALL,
  ALLOWED_BRANCHES,
  CiRunFilters,
  CiRunFilterValues,
  DEFAULT_BRANCHES,
} from '../CiRunFilters';
import { CiRunPage } from '../CiRunPage';
import { CiRunsTable } from '../CiRunsTable';
import { CiTestsSection } from '../CiTests';
import { CiSourcesState } from '../CiSourcesState';
import { providerLabel } from '../../lib/format';

const PAGE_SIZE = 25;
/** How often the first page is re-read while some of its runs are unfinished. */
export const LIVE_POLL_INTERVAL_MS = 5000;

const pickBranch = (run: CiRun) => run.branch;
const pickWorkflow = (run: CiRun) => run.workflow;
const pickDefaultBranch = (source: CiSourceState) => source.defaultBranch;

/** Why the run list is empty, so that it never just says "no data". */
function emptyReason(
  data: CiRunsResponse,
  filters: CiRunFilterValues,
  defaultBranches: string[],
): string {
  const failed = data.sources.some(source => source.error);
  if (filters.branch || filters.status || filters.workflow) {
    let where = filters.branch ? ` on branch ${filters.branch}` : '';
    if (filters.branch === ALLOWED_BRANCHES) {
      where = ' on the allowed branches';
    } else if (filters.branch === DEFAULT_BRANCHES) {
      where = ' on the default branches';
      if (defaultBranches.length === 1) {
        where = ` on the default branch ${defaultBranches[0]}`;
      } else if (defaultBranches.length > 1) {
        where = ` on the default branches (${defaultBranches.join(', ')})`;
      }
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

/**
 * The sources whose runs the default view leaves out: synced, but with no
 * known default branch (the backend lists nothing for them under
 * `branchScope=default`).
 */
function withoutDefaultBranch(sources: CiSourceState[]): CiSourceState[] {
  return sources.filter(
    source => !source.defaultBranch && !source.syncing && !source.notConfigured,
  );
}

function CiRunsView(props: { entityRef: CompoundEntityRef }) {
  // `branch` undefined is the default view: each source's runs on its own
  // default branch (`branchScope=default`), or every branch when no source
  // knows its default branch.
  const [choice, setChoice] = useState<
    Omit<CiRunFilterValues, 'branch'> & { branch?: string }
  >({ status: ALL, workflow: ALL });
  const [noDefaultBranch, setNoDefaultBranch] = useState(false);

  const values: CiRunFilterValues = {
    ...choice,
    branch: choice.branch ?? (noDefaultBranch ? ALL : DEFAULT_BRANCHES),
  };
  let branchQuery: Pick<CiRunsFilters, 'branch' | 'branchScope'>;
  if (values.branch === ALLOWED_BRANCHES) {
    branchQuery = { branchScope: 'allowed' };
  } else if (values.branch === DEFAULT_BRANCHES) {
    branchQuery = { branchScope: 'default' };
  } else {
    branchQuery = { branch: values.branch || undefined };
  }
  const runs = useCiRuns(
    props.entityRef,
    {
      ...branchQuery,
      status: values.status ? [values.status] : undefined,
      workflow: values.workflow || undefined,
      provider: values.provider ? [values.provider] : undefined,
    },
    PAGE_SIZE,
  );
  const { data, error } = runs;

  // No source knows its default branch (a Jenkins job, say) and none is
  // still syncing to learn it: the default view would stay empty, so it
  // shows every branch instead.
  const nothingHasDefault =
    !!data &&
    !runs.stale &&
    choice.branch === undefined &&
    values.branch === DEFAULT_BRANCHES &&
    data.items.length === 0 &&
    data.sources.length > 0 &&
    data.sources.every(source => !source.defaultBranch && !source.syncing);
  useEffect(() => {
    if (nothingHasDefault) {
      setNoDefaultBranch(true);
    }
  }, [nothingHasDefault]);
  // That empty answer is about to be replaced: it must not flash up.
  const stale = runs.stale || nothingHasDefault;

  const defaultBranches = [
    ...useSeenValues(data?.sources, pickDefaultBranch),
  ].sort((a, b) => a.localeCompare(b));
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
      <Box mb={2}>
        <CiTestsSection />
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

  const left = withoutDefaultBranch(data.sources);
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
        defaultBranches={defaultBranches}
        branches={branches}
        allowedBranches={data.allowedBranches}
        workflows={workflows}
        onRefresh={runs.refresh}
        refreshing={runs.loading}
      />
      {values.branch === DEFAULT_BRANCHES && left.length > 0 && (
        <Box mb={1} data-testid="no-default-branch">
          <Typography variant="caption" color="textSecondary">
            Not shown under the default branches:{' '}
            {left
              .map(
                source => `${providerLabel(source.provider)} ${source.source}`,
              )
              .join(', ')}
            , whose default branch is not known. Choose "All branches" to see
            {left.length > 1 ? ' their' : ' its'} runs.
          </Typography>
        </Box>
      )}
      {waiting ? (
        <CiFirstSyncNotice sources={data.sources} />
      ) : (
        <CiRunsTable
          runs={data.items}
          loading={runs.loading || stale}
          emptyContent={
            <Box p={3} textAlign="center">
              {emptyReason(data, values, defaultBranches)}
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
  const hasCi = useHasCi(entity);
  if (hasCi === undefined) {
    return <Progress />;
  }
  if (!hasCi) {
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
