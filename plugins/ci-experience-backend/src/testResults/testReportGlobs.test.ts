import { mockServices } from '@backstage/backend-test-utils';
import { Entity } from '@backstage/catalog-model';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import {
  parseTestReportGlobs,
  testReportGlobsResolver,
} from './testReportGlobs';

const component = (name: string, reports?: string): Entity => ({
  apiVersion: 'backstage.io/v1alpha1',
  kind: 'Component',
  metadata: {
    name,
    namespace: 'default',
    annotations: reports ? { 'ci-experience.io/test-reports': reports } : {},
  },
  spec: { type: 'service', owner: 'team-a', lifecycle: 'production' },
});

describe('test-report globs', () => {
  it('parses the annotation, bounded', () => {
    expect(parseTestReportGlobs(undefined)).toEqual({ globs: [] });
    expect(
      parseTestReportGlobs(' **/TEST-*.xml ,, build/test-results/**/*.xml'),
    ).toEqual({ globs: ['**/TEST-*.xml', 'build/test-results/**/*.xml'] });
    const many = Array.from({ length: 12 }, (_, i) => `r${i}/*.xml`);
    const parsed = parseTestReportGlobs([...many, 'x'.repeat(201)].join(','));
    expect(parsed.globs).toEqual(many.slice(0, 10));
    expect(parsed.error).toBe(
      'ci-experience.io/test-reports: kept 10 of 13 globs (at most 10, each at most 200 characters)',
    );
  });

  it("takes the globs of the source's entities, else the config's, and reads the catalog once per source for a while", async () => {
    const catalog = catalogServiceMock({
      entities: [
        component('ios-app', 'fastlane/test_output/*.junit'),
        component('ios-widget', 'fastlane/test_output/*.junit, widget/*.xml'),
        component('web'),
      ],
    });
    const read = jest.spyOn(catalog, 'getEntitiesByRefs');
    const claims: Record<string, string[]> = {
      'github:o/ios': [
        'component:default/ios-app',
        'component:default/ios-widget',
      ],
      'github:o/web': ['component:default/web'],
    };
    let clock = 0;
    const globsFor = testReportGlobsResolver({
      catalog,
      auth: mockServices.auth(),
      claimsOf: async key => claims[key] ?? [],
      fallback: ['**/junit*.xml'],
      logger: mockServices.logger.mock(),
      now: () => clock,
    });
    expect(await globsFor('github:o/ios')).toEqual([
      'fastlane/test_output/*.junit',
      'widget/*.xml',
    ]);
    expect(await globsFor('github:o/web')).toEqual(['**/junit*.xml']);
    expect(await globsFor('github:o/unclaimed')).toEqual(['**/junit*.xml']);
    expect(read).toHaveBeenCalledTimes(2);
    await globsFor('github:o/ios');
    expect(read).toHaveBeenCalledTimes(2);
    clock += 5 * 60_000;
    await globsFor('github:o/ios');
    expect(read).toHaveBeenCalledTimes(3);
  });

  it("falls back to the config's globs, and says so, when the catalog cannot be read", async () => {
    const logger = mockServices.logger.mock();
    const catalog = catalogServiceMock();
    jest
      .spyOn(catalog, 'getEntitiesByRefs')
      .mockRejectedValue(new Error('catalog unavailable'));
    const globsFor = testReportGlobsResolver({
      catalog,
      auth: mockServices.auth(),
      claimsOf: async () => ['component:default/ios-app'],
      fallback: ['**/junit*.xml'],
      logger,
    });
    expect(await globsFor('github:o/ios')).toEqual(['**/junit*.xml']);
    expect(logger.warn).toHaveBeenCalledWith(
      expect.stringMatching(
        /^Could not read the test-report annotations of github:o\/ios, using ciExperience.testResults.artifacts: Error: catalog unavailable$/,
      ),
    );
  });
});
