import {
  CompoundEntityRef,
  stringifyEntityRef,
} from '@backstage/catalog-model';
import { useApi } from '@backstage/core-plugin-api';
import {
  CiRunsQuery,
  CiRunsResponse,
} from '@ci-experience/plugin-ci-experience-common';
import { useCallback, useEffect, useRef, useState } from 'react';
import { ciExperienceApiRef } from '../api';

/** The filters of a run listing, without the paging fields. */
export type CiRunsFilters = Omit<CiRunsQuery, 'cursor' | 'limit'>;

/** The state of {@link useCiRuns}. */
export interface CiRunsState {
  /** All pages loaded so far for `key`, or undefined before the first. */
  data?: CiRunsResponse;
  /** True while `data` belongs to other filters than the current ones. */
  stale: boolean;
  loading: boolean;
  loadingMore: boolean;
  error?: Error;
  /** Reloads the first page, dropping further pages. */
  refresh: () => void;
  /** Appends the next page, if there is one. */
  loadMore: () => void;
}

type Loaded = { key: string; response: CiRunsResponse };

/**
 * Loads an entity's runs page by page. Pages are appended ("Load more")
 * because the backend pages with an opaque cursor and has no page count.
 */
export function useCiRuns(
  entityRef: CompoundEntityRef,
  filters: CiRunsFilters,
  pageSize: number,
): CiRunsState {
  const api = useApi(ciExperienceApiRef);
  // The key decides when to start over: other entity, filters or page size.
  const key = JSON.stringify([
    stringifyEntityRef(entityRef),
    filters.branch ?? null,
    filters.branchScope ?? null,
    filters.status ?? null,
    filters.workflow ?? null,
    filters.provider ?? null,
    pageSize,
  ]);
  const keyRef = useRef(key);
  keyRef.current = key;

  const [loaded, setLoaded] = useState<Loaded>();
  const [loading, setLoading] = useState(true);
  const [loadingMore, setLoadingMore] = useState(false);
  const [error, setError] = useState<Error>();
  const [reloads, setReloads] = useState(0);

  useEffect(() => {
    let current = true;
    setLoading(true);
    api
      .getRuns(entityRef, { ...filters, limit: pageSize })
      .then(
        response => {
          if (current) {
            setLoaded({ key, response });
            setError(undefined);
          }
        },
        e => {
          if (current) {
            setError(e);
          }
        },
      )
      .finally(() => {
        if (current) {
          setLoading(false);
        }
      });
    return () => {
      current = false;
    };
    // `key` stands for entityRef, filters and pageSize.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [api, key, reloads]);

  const refresh = useCallback(() => setReloads(n => n + 1), []);

  const loadMore = useCallback(() => {
    const cursor = loaded?.key === key ? loaded.response.nextCursor : undefined;
    if (!cursor) {
      return;
    }
    setLoadingMore(true);
    api
      .getRuns(entityRef, { ...filters, limit: pageSize, cursor })
      .then(
        page => {
          // Drop a page that arrives after the filters changed.
          if (keyRef.current !== key) {
            return;
          }
          setLoaded(prev =>
            prev && prev.key === key
              ? {
                  key,
                  response: {
                    items: [...prev.response.items, ...page.items],
                    nextCursor: page.nextCursor,
                    sources: page.sources,
                  },
                }
              : prev,
          );
        },
        e => setError(e),
      )
      .finally(() => setLoadingMore(false));
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [api, key, loaded]);

  return {
    data: loaded?.response,
    stale: loaded !== undefined && loaded.key !== key,
    loading,
    loadingMore,
    error,
    refresh,
    loadMore,
  };
}
