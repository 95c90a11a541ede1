import { CompoundEntityRef } from '@backstage/catalog-model';
import { DiscoveryApi, FetchApi } from '@backstage/core-plugin-api';
import { ResponseError } from '@backstage/errors';
import {
  CiRun,
  CiRunsQuery,
  CiRunsResponse,
} from '@ci-experience/plugin-ci-experience-common';
import { CiExperienceApi } from './CiExperienceApi';

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

  async getRuns(
    entityRef: CompoundEntityRef,
    query: CiRunsQuery,
  ): Promise<CiRunsResponse> {
    // Kind and namespace are case-insensitive in the catalog; the name is
    // kept as is because the backend looks it up case-insensitively anyway.
    const path = [
      'entities',
      entityRef.kind.toLocaleLowerCase('en-US'),
      entityRef.namespace.toLocaleLowerCase('en-US'),
      entityRef.name,
      'runs',
    ]
      .map(encodeURIComponent)
      .join('/');

    const params = new URLSearchParams();
    if (query.branch) {
      params.set('branch', query.branch);
    }
    if (query.branchScope && query.branchScope !== 'all') {
      params.set('branchScope', query.branchScope);
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

  async getRun(id: string): Promise<CiRun> {
    return this.get<CiRun>(`runs/${encodeURIComponent(id)}`);
  }

  private async get<T>(pathAndQuery: string): Promise<T> {
    const baseUrl = await this.discoveryApi.getBaseUrl('ci-experience');
    const res = await this.fetchApi.fetch(`${baseUrl}/${pathAndQuery}`);
    if (!res.ok) {
      throw await ResponseError.fromResponse(res);
    }
    return (await res.json()) as T;
  }
}
