import { CompoundEntityRef } from '@backstage/catalog-model';
import { DiscoveryApi, FetchApi } from '@backstage/core-plugin-api';
import { ResponseError } from '@backstage/errors';
import {
  CiAlertFiringsResponse,
  CiAlertPreview,
  CiAlertRule,
  CiAlertRuleInput,
  CiAlertRulesResponse,
  CiInsightsResponse,
  CiInsightsWindow,
  CiJobLog,
  CiRerunRequest,
  CiRollupResponse,
  CiRollupTestsResponse,
  CiRunDetail,
  CiRunsQuery,
  CiRunsResponse,
  CiRunTestsResponse,
  CiEntityTestsResponse,
  CiTestQuarantine,
  CiTestState,
} from '@ci-experience/plugin-ci-experience-common';
import { CiExperienceApi, CiInsightsQuery } from './CiExperienceApi';
import {
  apiRequest,
  CiApiOperation,
  CiApiOperations,
  CiApiRequest,
} from './generated/routes';

/** The path parameters of an entity. Kind and namespace are
 * case-insensitive in the catalog; the name is kept as is because the
 * backend looks it up case-insensitively anyway. */
function entityParams(entityRef: CompoundEntityRef) {
  return {
    kind: entityRef.kind.toLocaleLowerCase('en-US'),
    namespace: entityRef.namespace.toLocaleLowerCase('en-US'),
    name: entityRef.name,
  };
}

/** The path parameters of a group or system. */
function rollupParams(ref: CompoundEntityRef) {
  return {
    namespace: ref.namespace.toLocaleLowerCase('en-US'),
    name: ref.name,
  };
}

/**
 * The {@link CiExperienceApi} that talks to the `ci-experience` backend
 * plugin over HTTP.
 *
 * @public
 */
export class CiExperienceClient implements CiExperienceApi {
  private readonly discoveryApi: DiscoveryApi;
  private readonly fetchApi: FetchApi;

  constructor(options: { discoveryApi: DiscoveryApi; fetchApi: FetchApi }) {
    this.discoveryApi = options.discoveryApi;
    this.fetchApi = options.fetchApi;
  }

  /** {@inheritDoc CiExperienceApi.getRuns} */
  async getRuns(
    entityRef: CompoundEntityRef,
    query: CiRunsQuery,
  ): Promise<CiRunsResponse> {
    return this.call<'ListEntityRuns', CiRunsResponse>('ListEntityRuns', {
      path: entityParams(entityRef),
      query: {
        branch: query.branch || undefined,
        branchScope:
          query.branchScope && query.branchScope !== 'all'
            ? query.branchScope
            : undefined,
        attempts:
          query.attempts && query.attempts !== 'latest'
            ? query.attempts
            : undefined,
        // Repeated rather than comma-joined so that each value stays verbatim.
        status: query.status,
        workflow: query.workflow || undefined,
        provider: query.provider,
        limit: query.limit === undefined ? undefined : String(query.limit),
        cursor: query.cursor || undefined,
      },
    });
  }

  /** {@inheritDoc CiExperienceApi.getRun} */
  async getRun(id: string): Promise<CiRunDetail> {
    return this.call<'GetRun', CiRunDetail>('GetRun', { path: { id } });
  }

  private annotations?: Promise<{ annotations: string[] }>;

  /** Read once per page load: the list changes only with the backend's providers. */
  async getAnnotations(): Promise<{ annotations: string[] }> {
    this.annotations ??= this.call('GetAnnotations', { path: {} }).catch(
      error => {
        this.annotations = undefined;
        throw error;
      },
    );
    return this.annotations;
  }

  /** {@inheritDoc CiExperienceApi.getJobLog} */
  async getJobLog(runId: string, jobId: string): Promise<CiJobLog> {
    return this.call<'GetJobLog', CiJobLog>('GetJobLog', {
      path: { id: runId, jobId },
    });
  }

  /** {@inheritDoc CiExperienceApi.getRunTests} */
  async getRunTests(runId: string): Promise<CiRunTestsResponse> {
    return this.call<'ListRunTests', CiRunTestsResponse>('ListRunTests', {
      path: { id: runId },
    });
  }

  /** {@inheritDoc CiExperienceApi.getEntityTests} */
  async getEntityTests(
    entityRef: CompoundEntityRef,
    query: { window?: CiInsightsWindow; state?: CiTestState } = {},
  ): Promise<CiEntityTestsResponse> {
    return this.call<'ListEntityTests', CiEntityTestsResponse>(
      'ListEntityTests',
      {
        path: entityParams(entityRef),
        query: { window: query.window, state: query.state },
      },
    );
  }

  /** {@inheritDoc CiExperienceApi.quarantineTest} */
  async quarantineTest(
    entityRef: CompoundEntityRef,
    testId: string,
    input: { reason: string; expiresAt: string },
  ): Promise<CiTestQuarantine> {
    return this.call<'QuarantineTest', CiTestQuarantine>('QuarantineTest', {
      path: { ...entityParams(entityRef), testId },
      body: input,
    });
  }

  /** {@inheritDoc CiExperienceApi.unquarantineTest} */
  async unquarantineTest(
    entityRef: CompoundEntityRef,
    testId: string,
  ): Promise<void> {
    await this.call('UnquarantineTest', {
      path: { ...entityParams(entityRef), testId },
    });
  }

  /** {@inheritDoc CiExperienceApi.rerunRun} */
  async rerunRun(
    entityRef: CompoundEntityRef,
    runId: string,
    request: CiRerunRequest = {},
  ): Promise<void> {
    const body: CiRerunRequest = {};
    if (request.failedOnly !== undefined) {
      body.failedOnly = request.failedOnly;
    }
    await this.call('RerunRun', {
      path: { ...entityParams(entityRef), id: runId },
      body,
    });
  }

  /** {@inheritDoc CiExperienceApi.cancelRun} */
  async cancelRun(entityRef: CompoundEntityRef, runId: string): Promise<void> {
    await this.call('CancelRun', {
      path: { ...entityParams(entityRef), id: runId },
    });
  }

  /** {@inheritDoc CiExperienceApi.getInsights} */
  async getInsights(
    entityRef: CompoundEntityRef,
    query: CiInsightsQuery = {},
  ): Promise<CiInsightsResponse> {
    // A custom range wins over a window: the backend takes one or the other.
    const range = Boolean(query.from || query.to);
    return this.call<'GetEntityInsights', CiInsightsResponse>(
      'GetEntityInsights',
      {
        path: entityParams(entityRef),
        query: {
          from: query.from || undefined,
          to: query.to || undefined,
          window: range ? undefined : query.window,
          workflow: query.workflow || undefined,
          // Repeated rather than comma-joined: a branch name may hold a comma.
          branch: query.branches,
        },
      },
    );
  }

  /** {@inheritDoc CiExperienceApi.getGroupInsights} */
  async getGroupInsights(
    groupRef: CompoundEntityRef,
    window?: CiInsightsWindow,
  ): Promise<CiRollupResponse> {
    return this.call<'GetGroupInsights', CiRollupResponse>('GetGroupInsights', {
      path: rollupParams(groupRef),
      query: { window },
    });
  }

  /** {@inheritDoc CiExperienceApi.getSystemInsights} */
  async getSystemInsights(
    systemRef: CompoundEntityRef,
    window?: CiInsightsWindow,
  ): Promise<CiRollupResponse> {
    return this.call<'GetSystemInsights', CiRollupResponse>(
      'GetSystemInsights',
      { path: rollupParams(systemRef), query: { window } },
    );
  }

  /** {@inheritDoc CiExperienceApi.getGroupFlakyTests} */
  async getGroupFlakyTests(
    groupRef: CompoundEntityRef,
    window?: CiInsightsWindow,
  ): Promise<CiRollupTestsResponse> {
    return this.call<'ListGroupFlakyTests', CiRollupTestsResponse>(
      'ListGroupFlakyTests',
      { path: rollupParams(groupRef), query: { window } },
    );
  }

  /** {@inheritDoc CiExperienceApi.getSystemFlakyTests} */
  async getSystemFlakyTests(
    systemRef: CompoundEntityRef,
    window?: CiInsightsWindow,
  ): Promise<CiRollupTestsResponse> {
    return this.call<'ListSystemFlakyTests', CiRollupTestsResponse>(
      'ListSystemFlakyTests',
      { path: rollupParams(systemRef), query: { window } },
    );
  }

  /** {@inheritDoc CiExperienceApi.getAlertRules} */
  async getAlertRules(
    entityRef: CompoundEntityRef,
  ): Promise<CiAlertRulesResponse> {
    return this.call<'ListAlertRules', CiAlertRulesResponse>('ListAlertRules', {
      path: entityParams(entityRef),
    });
  }

  /** {@inheritDoc CiExperienceApi.createAlertRule} */
  async createAlertRule(
    entityRef: CompoundEntityRef,
    input: CiAlertRuleInput,
  ): Promise<CiAlertRule> {
    return this.call<'CreateAlertRule', CiAlertRule>('CreateAlertRule', {
      path: entityParams(entityRef),
      body: input,
    });
  }

  /** {@inheritDoc CiExperienceApi.previewAlertRule} */
  async previewAlertRule(
    entityRef: CompoundEntityRef,
    input: CiAlertRuleInput,
  ): Promise<CiAlertPreview> {
    return this.call<'PreviewAlertRule', CiAlertPreview>('PreviewAlertRule', {
      path: entityParams(entityRef),
      body: input,
    });
  }

  /** {@inheritDoc CiExperienceApi.getAlertRule} */
  async getAlertRule(id: string): Promise<CiAlertRule> {
    return this.call<'GetAlertRule', CiAlertRule>('GetAlertRule', {
      path: { id },
    });
  }

  /** {@inheritDoc CiExperienceApi.updateAlertRule} */
  async updateAlertRule(
    id: string,
    input: CiAlertRuleInput,
  ): Promise<CiAlertRule> {
    return this.call<'UpdateAlertRule', CiAlertRule>('UpdateAlertRule', {
      path: { id },
      body: input,
    });
  }

  /** {@inheritDoc CiExperienceApi.deleteAlertRule} */
  async deleteAlertRule(id: string): Promise<void> {
    await this.call('DeleteAlertRule', { path: { id } });
  }

  /** {@inheritDoc CiExperienceApi.getAlertFirings} */
  async getAlertFirings(
    entityRef: CompoundEntityRef,
  ): Promise<CiAlertFiringsResponse> {
    return this.call<'ListAlertFirings', CiAlertFiringsResponse>(
      'ListAlertFirings',
      { path: entityParams(entityRef) },
    );
  }

  /**
   * One operation of the API: the request is built from the spec's
   * routes (`apiRequest`), and the answer is read as `R`, which must fit
   * the spec's answer for the operation, so that a type of the common
   * package that drifts from the spec fails to compile here. Throws a
   * ResponseError unless the answer is ok; an answer without a body
   * (202, 204) is undefined.
   */
  private async call<
    O extends CiApiOperation,
    R extends CiApiOperations[O]['response'] = CiApiOperations[O]['response'],
  >(operation: O, request: CiApiRequest<O>): Promise<R> {
    const { path, init } = apiRequest(operation, request);
    const baseUrl = await this.discoveryApi.getBaseUrl('ci-experience');
    const res = await this.fetchApi.fetch(`${baseUrl}${path}`, init);
    if (!res.ok) {
      throw await ResponseError.fromResponse(res);
    }
    if (res.status === 202 || res.status === 204) {
      return undefined as R;
    }
    return (await res.json()) as R;
  }
}
