import {
  createApiRef,
  DiscoveryApi,
  FetchApi,
} from '@backstage/core-plugin-api';
import { ResponseError } from '@backstage/errors';
import { CiOperatorStatus } from '@ci-experience/plugin-ci-experience-common';
import { apiRequest } from './generated/routes';

/**
 * The operator's view of the CI Experience backend (permission
 * `ci-experience.admin.read`).
 *
 * @public
 */
export interface CiOperatorApi {
  /** Hosts, the `limit` worst sources (default 200), intake and queues. */
  getOperatorStatus(options?: { limit?: number }): Promise<CiOperatorStatus>;
}

/**
 * The {@link CiOperatorApi} of the app.
 *
 * @public
 */
export const ciOperatorApiRef = createApiRef<CiOperatorApi>({
  id: 'plugin.ci-experience.operator',
});

/**
 * The {@link CiOperatorApi} that asks the backend's `GET /admin/status`.
 *
 * @public
 */
export class CiOperatorClient implements CiOperatorApi {
  constructor(
    private readonly options: {
      discoveryApi: DiscoveryApi;
      fetchApi: FetchApi;
    },
  ) {}

  /** {@inheritDoc CiOperatorApi.getOperatorStatus} */
  async getOperatorStatus(
    options: { limit?: number } = {},
  ): Promise<CiOperatorStatus> {
    const base = await this.options.discoveryApi.getBaseUrl('ci-experience');
    const { path, init } = apiRequest('GetOperatorStatus', {
      path: {},
      query: {
        limit: options.limit === undefined ? undefined : String(options.limit),
      },
    });
    const res = await this.options.fetchApi.fetch(`${base}${path}`, init);
    if (!res.ok) {
      throw await ResponseError.fromResponse(res);
    }
    return (await res.json()) as CiOperatorStatus;
  }
}
