import { mockServices } from '@backstage/backend-test-utils';
import { EventParams } from '@backstage/plugin-events-node';
import { CiStore, DeliveryWrite } from '../../database/CiStore';
import { GitlabWebhookIngestor } from '../../__testUtils__/ingestors';
// GitLab's documented hook payloads, as the module records them.
// eslint-disable-next-line @backstage/no-relative-monorepo-imports
import pipelineHook from '../../../../ci-experience-backend-module-gitlab/src/__fixtures__/pipeline-hook.json';
// eslint-disable-next-line @backstage/no-relative-monorepo-imports
import jobHook from '../../../../ci-experience-backend-module-gitlab/src/__fixtures__/job-hook.json';

const DOC_KEY = 'gitlab:192.168.64.1:3005/gitlab-org/gitlab-test';

const event = (
  topic: string,
  payload: unknown,
  headers: Record<string, string> = {
    'x-gitlab-event-uuid': 'a8f2c7d4-1b6e-4f0a-9c3d-5e7b8a9d0c1f',
  },
): EventParams => ({ topic, eventPayload: payload, metadata: headers });

describe('GitlabWebhookIngestor', () => {
  function fakeStore() {
    const applied = new Set<string>();
    const writes: DeliveryWrite[] = [];
    const store = {
      // The ingestor applies deliveries only for a source an entity claims.
      getClaimedSource: jest.fn(async (key: string) =>
        key === DOC_KEY
          ? { key, provider: 'gitlab', source: 'gitlab-org/gitlab-test' }
          : undefined,
      ),
      getSources: jest.fn(async (keys: string[]) => {
        const map = new Map();
        for (const key of keys) {
          if (key === DOC_KEY) {
            map.set(key, {
              key,
              provider: 'gitlab',
              source: 'gitlab-org/gitlab-test',
            });
          }
        }
        return map;
      }),
      applyDeliveries: jest.fn(async (batch: DeliveryWrite[]) =>
        batch.map(w => {
          if (applied.has(w.deliveryId)) {
            return 'duplicate' as const;
          }
          applied.add(w.deliveryId);
          writes.push(w);
          return 'applied' as const;
        }),
      ),
      stampDeliveries: jest.fn(async () => {}),
    } as unknown as CiStore;
    return { store, writes };
  }

  it('applies a delivery once, ignores a duplicate id, and logs malformed ones', async () => {
    const { store, writes } = fakeStore();
    const logger = mockServices.logger.mock();
    const changed = jest.fn();
    const ingestor = new GitlabWebhookIngestor({
      store,
      logger,
      onSourceChanged: changed,
    });
    const delivery = event('gitlab.pipeline', pipelineHook, {
      'x-gitlab-event-uuid': 'dup-1',
    });
    expect(await ingestor.handle(delivery)).toBe('accepted');
    expect(await ingestor.handle(delivery)).toBe('duplicate');
    expect(writes).toHaveLength(1);
    expect(changed).toHaveBeenCalledTimes(1);
    expect(changed).toHaveBeenCalledWith(DOC_KEY);
    expect(
      await ingestor.handle(
        event(
          'gitlab.pipeline',
          { object_kind: 'pipeline' },
          {
            'x-gitlab-event-uuid': 'bad-1',
          },
        ),
      ),
    ).toBe('rejected');
    expect(logger.warn).toHaveBeenCalledWith(
      expect.stringContaining(
        'Malformed GitLab pipeline delivery gitlab:bad-1',
      ),
    );
    expect(
      await ingestor.handle(
        event(
          'gitlab.pipeline',
          {
            ...pipelineHook,
            project: {
              ...pipelineHook.project,
              path_with_namespace: 'someone/else',
            },
          },
          { 'x-gitlab-event-uuid': 'other-1' },
        ),
      ),
    ).toBe('unclaimed');
  });

  it('applies a hook without delivery headers (older self-managed GitLab) once, and a later state of it', async () => {
    const { store, writes } = fakeStore();
    const logger = mockServices.logger.mock();
    const ingestor = new GitlabWebhookIngestor({ store, logger });
    const running = {
      ...pipelineHook,
      object_attributes: {
        ...pipelineHook.object_attributes,
        status: 'running',
        finished_at: null,
        duration: null,
      },
    };
    expect(await ingestor.handle(event('gitlab.pipeline', running, {}))).toBe(
      'accepted',
    );
    expect(await ingestor.handle(event('gitlab.pipeline', running, {}))).toBe(
      'duplicate',
    );
    expect(
      await ingestor.handle(event('gitlab.pipeline', pipelineHook, {})),
    ).toBe('accepted');
    expect(await ingestor.handle(event('gitlab.build', jobHook, {}))).toBe(
      'accepted',
    );
    expect(writes.map(w => w.runs?.[0]?.status ?? w.event)).toEqual([
      'running',
      'succeeded',
      'build',
    ]);
    expect(logger.warn).not.toHaveBeenCalled();
  });
});
