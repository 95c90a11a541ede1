import { Entity } from '@backstage/catalog-model';
import {
  BUILDKITE_CI_ANNOTATIONS,
  BUILDKITE_PIPELINE_SLUG_ANNOTATION,
  BUILDKITE_PROJECT_SLUG_ANNOTATION,
  getBuildkitePipelineRefs,
  hasBuildkiteAnnotation,
  parseBuildkitePipelineSlug,
} from './annotations';

const entity = (annotations: Record<string, string>): Entity => ({
  apiVersion: 'backstage.io/v1alpha1',
  kind: 'Component',
  metadata: { name: 'svc', annotations },
});

describe('Buildkite annotations', () => {
  it("reads Roadie's annotation name, and the older pipeline-slug", () => {
    // Roadie's backstage-plugin-buildkite, src/consts.ts: BUILDKITE_ANNOTATION.
    expect(BUILDKITE_PROJECT_SLUG_ANNOTATION).toBe(
      'buildkite.com/project-slug',
    );
    expect(BUILDKITE_PIPELINE_SLUG_ANNOTATION).toBe(
      'buildkite.com/pipeline-slug',
    );
    expect(BUILDKITE_CI_ANNOTATIONS).toEqual([
      'buildkite.com/project-slug',
      'buildkite.com/pipeline-slug',
    ]);
  });

  it('reads an entity annotated the Roadie way (its own mock entity)', () => {
    // The annotation value of Roadie's src/mocks/mocks.ts entityMock.
    const roadie = entity({
      'buildkite.com/project-slug': 'rbnetwork/example-pipeline',
    });
    expect(getBuildkitePipelineRefs(roadie)).toEqual([
      { organization: 'rbnetwork', pipeline: 'example-pipeline' },
    ]);
    expect(hasBuildkiteAnnotation(roadie)).toBe(true);
    expect(
      getBuildkitePipelineRefs(
        entity({
          'buildkite.com/project-slug': 'acme/a',
          'buildkite.com/pipeline-slug': 'ACME/A, acme/b',
        }),
      ),
    ).toEqual([
      { organization: 'acme', pipeline: 'a' },
      { organization: 'acme', pipeline: 'b' },
    ]);
  });

  it('splits org-slug/pipeline-slug', () => {
    expect(parseBuildkitePipelineSlug(' acme/payments-service ')).toEqual({
      organization: 'acme',
      pipeline: 'payments-service',
    });
  });

  it.each([
    'payments-service',
    'acme/payments/extra',
    '/acme/payments',
    'acme/',
    'acme/pay ments',
    'acme/..',
    'https://buildkite.com/acme/payments',
    '',
  ])('refuses the malformed value %j', value => {
    expect(parseBuildkitePipelineSlug(value)).toBeUndefined();
  });

  it('reads comma-separated pipelines, once each, leaving out bad ones', () => {
    expect(
      getBuildkitePipelineRefs(
        entity({
          [BUILDKITE_PIPELINE_SLUG_ANNOTATION]: 'acme/a, acme/b, bad, ACME/A',
        }),
      ),
    ).toEqual([
      { organization: 'acme', pipeline: 'a' },
      { organization: 'acme', pipeline: 'b' },
    ]);
    expect(getBuildkitePipelineRefs(entity({}))).toEqual([]);
  });

  it('knows whether an entity is annotated', () => {
    expect(
      hasBuildkiteAnnotation(
        entity({ [BUILDKITE_PIPELINE_SLUG_ANNOTATION]: 'a/b' }),
      ),
    ).toBe(true);
    expect(hasBuildkiteAnnotation(entity({}))).toBe(false);
  });
});
