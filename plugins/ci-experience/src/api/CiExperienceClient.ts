import { apiPath, CiApiOperation } from './generated/routes';
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
  CiRunDetail,
  CiRunsQuery,
  CiRunsResponse,
} from '@ci-experience/plugin-ci-experience-common';
import { CiExperienceApi, CiInsightsQuery } from './CiExperienceApi';

/**
 * An operation's path (generated from the backend's OpenAPI spec, so a
 * route the backend does not serve fails to compile), without its leading
 * slash. Kind and namespace are case-insensitive in the catalog; the name is
 * kept as is because the backend looks it up case-insensitively anyway.
 */
function pathOf<O extends CiApiOperation>(
  operation: O,
  params: Parameters<typeof apiPath<O>>[1],
): string {
  return apiPath(operation, params).slice(1);
}

/** The path parameters of an entity. */
function entityParams(entityRef: CompoundEntityRef) {
  return {
    kind: entityRef.kind.toLocaleLowerCase('en-US'),
    namespace: entityRef.namespace.toLocaleLowerCase('en-US'),
    name: entityRef.name,
  };
}

/** `groups|systems/{namespace}/{name}/insights[?window=]`. */
function rollupPath(
  collection: 'groups' | 'systems',
  ref: CompoundEntityRef,
  window?: CiInsightsWindow,
): string {
  const path = pathOf(
    collection === 'groups' ? 'GetGroupInsights' : 'GetSystemInsights',
    { namespace: ref.namespace.toLocaleLowerCase('en-US'), name: ref.name },
  );
  return window ? `${path}?window=${encodeURIComponent(window)}` : path;
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
    const path = pathOf('ListEntityRuns', entityParams(entityRef));

    const params = new URLSearchParams();
    if (query.branch) {
      params.set('branch', query.branch);
    }
    if (query.branchScope && query.branchScope !== 'all') {
      params.set('branchScope', query.branchScope);
    }
    if (query.attempts && query.attempts !== 'latest') {
      params.set('attempts', query.attempts);
    }
    // Repeated rather than comma-joined so that each value stays verbatim.
    for (const status of query.status ?? []) {
      params.append('status', status);
    }
    if (query.workflow) {
      params.set('workflow', query.workflow);
    }
    for (const provider of query.provider ?? []) {
      params.append('provider', provider);
    }
    if (query.limit !== undefined) {
      params.set('limit', String(query.limit));
    }
    if (query.cursor) {
      params.set('cursor', query.cursor);
    }
    const search = params.toString();

    return this.get<CiRunsResponse>(search ? `${path}?${search}` : path);
  }

  /** {@inheritDoc CiExperienceApi.getRun} */
  async getRun(id: string): Promise<CiRunDetail> {
    return this.get<CiRunDetail>(pathOf('GetRun', { id }));
  }

  private annotations?: Promise<{ annotations: string[] }>;

  /** Read once per page load: the list changes only with the backend's providers. */
  async getAnnotations(): Promise<{ annotations: string[] }> {
    this.annotations ??= this.get<{ annotations: string[] }>(
      pathOf('GetAnnotations', {}),
    ).catch(error => {
      this.annotations = undefined;
      throw error;
    });
    return this.annotations;
  }

  /** {@inheritDoc CiExperienceApi.getJobLog} */
  async getJobLog(runId: string, jobId: string): Promise<CiJobLog> {
    return this.get<CiJobLog>(pathOf('GetJobLog', { id: runId, jobId }));
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
    await this.post(
      pathOf('RerunRun', { ...entityParams(entityRef), id: runId }),
      body,
    );
  }

  /** {@inheritDoc CiExperienceApi.cancelRun} */
  async cancelRun(entityRef: CompoundEntityRef, runId: string): Promise<void> {
    await this.post(
      pathOf('CancelRun', { ...entityParams(entityRef), id: runId }),
      {},
    );
  }

  /** {@inheritDoc CiExperienceApi.getInsights} */
  async getInsights(
    entityRef: CompoundEntityRef,
    query: CiInsightsQuery = {},
  ): Promise<CiInsightsResponse> {
    const path = pathOf('GetEntityInsights', entityParams(entityRef));
    const params = new URLSearchParams();
    // A custom range wins over a window: the backend takes one or the other.
    if (query.from || query.to) {
      if (query.from) {
        params.set('from', query.from);
      }
      if (query.to) {
        params.set('to', query.to);
      }
    } else if (query.window) {
      params.set('window', query.window);
    }
    if (query.workflow) {
      params.set('workflow', query.workflow);
    }
    // Repeated rather than comma-joined: a branch name may hold a comma.
    for (const branch of query.branches ?? []) {
      params.append('branch', branch);
    }
    const search = params.toString();
    return this.get<CiInsightsResponse>(search ? `${path}?${search}` : path);
  }

  /** {@inheritDoc CiExperienceApi.getGroupInsights} */
  async getGroupInsights(
    groupRef: CompoundEntityRef,
    window?: CiInsightsWindow,
  ): Promise<CiRollupResponse> {
    return this.get<CiRollupResponse>(rollupPath('groups', groupRef, window));
  }

  /** {@inheritDoc CiExperienceApi.getSystemInsights} */
  async getSystemInsights(
    systemRef: CompoundEntityRef,
    window?: CiInsightsWindow,
  ): Promise<CiRollupResponse> {
    return this.get<CiRollupResponse>(rollupPath('systems', systemRef, window));
  }

  /** {@inheritDoc CiExperienceApi.getAlertRules} */
  async getAlertRules(
    entityRef: CompoundEntityRef,
  ): Promise<CiAlertRulesResponse> {
    return this.get<CiAlertRulesResponse>(
      pathOf('ListAlertRules', entityParams(entityRef)),
    );
  }

  /** {@inheritDoc CiExperienceApi.createAlertRule} */
  async createAlertRule(
    entityRef: CompoundEntityRef,
    input: CiAlertRuleInput,
  ): Promise<CiAlertRule> {
    const res = await this.send(
      'POST',
      pathOf('ListAlertRules', entityParams(entityRef)),
      input,
    );
    return (await res.json()) as CiAlertRule;
  }

  /** {@inheritDoc CiExperienceApi.previewAlertRule} */
  async previewAlertRule(
    entityRef: CompoundEntityRef,
    input: CiAlertRuleInput,
  ): Promise<CiAlertPreview> {
    const res = await this.send(
      'POST',
      pathOf('PreviewAlertRule', entityParams(entityRef)),
      input,
    );
    return (await res.json()) as CiAlertPreview;
  }

  /** {@inheritDoc CiExperienceApi.getAlertRule} */
  async getAlertRule(id: string): Promise<CiAlertRule> {
    return this.get<CiAlertRule>(pathOf('GetAlertRule', { id }));
  }

  /** {@inheritDoc CiExperienceApi.updateAlertRule} */
  async updateAlertRule(
    id: string,
    input: CiAlertRuleInput,
  ): Promise<CiAlertRule> {
    const res = await this.send(
      'PUT',
      pathOf('UpdateAlertRule', { id }),
      input,
    );
    return (await res.json()) as CiAlertRule;
  }

  /** {@inheritDoc CiExperienceApi.deleteAlertRule} */
  async deleteAlertRule(id: string): Promise<void> {
    await this.send('DELETE', pathOf('DeleteAlertRule', { id }));
  }

  /** {@inheritDoc CiExperienceApi.getAlertFirings} */
  async getAlertFirings(
    entityRef: CompoundEntityRef,
  ): Promise<CiAlertFiringsResponse> {
    return this.get<CiAlertFiringsResponse>(
      pathOf('ListAlertFirings', entityParams(entityRef)),
    );
  }

  private async get<T>(pathAndQuery: string): Promise<T> {
    const baseUrl = await this.discoveryApi.getBaseUrl('ci-experience');
    const res = await this.fetchApi.fetch(`${baseUrl}/${pathAndQuery}`);
    if (!res.ok) {
      throw await ResponseError.fromResponse(res);
    }
    return (await res.json()) as T;
  }

  private async post(path: string, body: object): Promise<void> {
    await this.send('POST', path, body);
  }

  /** A request with an optional JSON body; throws a ResponseError unless ok. */
  private async send(
    method: 'POST' | 'PUT' | 'DELETE',
    path: string,
    body?: object,
  ): Promise<Response> {
    const baseUrl = await this.discoveryApi.getBaseUrl('ci-experience');
    const res = await this.fetchApi.fetch(
      `${baseUrl}/${path}`,
      body === undefined
        ? { method }
        : {
            method,
            headers: { 'Content-Type': 'application/json' },
            body: JSON.stringify(body),
          },
    );
    if (!res.ok) {
      throw await ResponseError.fromResponse(res);
    }
    return res;
  }
}
