import { useApi } from '@backstage/core-plugin-api';
import { CiRunDetail } from '@ci-experience/plugin-ci-experience-common';
import { useCallback, useEffect, useState } from 'react';
import { ciExperienceApiRef } from '../api';

/** The state of {@link useCiRun}. */
export interface CiRunState {
  /** The run, once loaded; kept while it is re-read. */
  data?: CiRunDetail;
  loading: boolean;
  error?: Error;
  /** Reads the run again, keeping what is shown until the answer comes. */
  refresh: () => void;
}

/**
 * Loads one run with its jobs, attempts and actions. A refresh keeps the
 * run on screen (no flash of a spinner while a live run is followed); another
 * run id starts over.
 */
export function useCiRun(runId: string): CiRunState {
  const api = useApi(ciExperienceApiRef);
  const [loaded, setLoaded] = useState<{ id: string; run: CiRunDetail }>();
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<{ id: string; error: Error }>();
  const [reloads, setReloads] = useState(0);

  useEffect(() => {
    let current = true;
    setLoading(true);
    api
      .getRun(runId)
      .then(
        run => {
          if (current) {
            setLoaded({ id: runId, run });
            setError(undefined);
          }
        },
        e => {
          if (current) {
            setError({ id: runId, error: e });
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
  }, [api, runId, reloads]);

  const refresh = useCallback(() => setReloads(n => n + 1), []);

  return {
    data: loaded?.id === runId ? loaded.run : undefined,
    loading,
    error: error?.id === runId ? error.error : undefined,
    refresh,
  };
}
