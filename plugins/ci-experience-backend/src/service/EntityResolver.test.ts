import { mockCredentials } from '@backstage/backend-test-utils';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import { EntityResolver } from './EntityResolver';

const entity = {
  apiVersion: 'backstage.io/v1alpha1',
  kind: 'Component',
  metadata: {
    name: 'svc',
    namespace: 'default',
    annotations: { 'github.com/project-slug': 'o/r' },
  },
  spec: { owner: 'me' },
};
const ref = { kind: 'component', namespace: 'default', name: 'svc' };

describe('EntityResolver', () => {
  it('asks the catalog once per caller within the time to live, for the fields it needs', async () => {
    const catalog = catalogServiceMock({ entities: [entity] });
    const spy = jest.spyOn(catalog, 'getEntitiesByRefs');
    const clock = { now: 0 };
    const resolver = new EntityResolver(catalog, {
      ttlMs: 10_000,
      now: () => clock.now,
    });
    const alice = mockCredentials.user('user:default/alice');
    const bob = mockCredentials.user('user:default/bob');

    expect((await resolver.get(ref, alice))?.metadata.annotations).toEqual(
      entity.metadata.annotations,
    );
    await resolver.get(ref, alice);
    expect(spy).toHaveBeenCalledTimes(1);
    expect(spy.mock.calls[0][0].fields).toContain('metadata.annotations');
    expect(spy.mock.calls[0][1]).toEqual({ credentials: alice });

    // Another caller gets the catalog's own answer for them.
    await resolver.get(ref, bob);
    expect(spy).toHaveBeenCalledTimes(2);

    clock.now += 10_001;
    await resolver.get(ref, alice);
    expect(spy).toHaveBeenCalledTimes(3);
  });

  it('remembers a missing entity briefly too, and stays within its bound', async () => {
    const catalog = catalogServiceMock({ entities: [] });
    const spy = jest.spyOn(catalog, 'getEntitiesByRefs');
    const resolver = new EntityResolver(catalog, { maxEntries: 2 });
    const user = mockCredentials.user();
    expect(await resolver.get(ref, user)).toBeUndefined();
    expect(await resolver.get(ref, user)).toBeUndefined();
    expect(spy).toHaveBeenCalledTimes(1);
    for (const name of ['a', 'b', 'c']) {
      await resolver.get({ ...ref, name }, user);
    }
    // The first entry was dropped to keep two.
    await resolver.get(ref, user);
    expect(spy).toHaveBeenCalledTimes(5);
  });
});
