import { Entity } from '@backstage/catalog-model';
import { ApiHolder, ApiRef } from '@backstage/core-plugin-api';
import { ciExperienceApiRef } from '../api';
import { entityHasCi, hasCiExperience } from './useHasCi';

const entity = (annotations: Record<string, string>): Entity => ({
  apiVersion: 'backstage.io/v1alpha1',
  kind: 'Component',
  metadata: { name: 'app', annotations },
});

describe('hasCiExperience', () => {
  it("answers built-in annotations at once, others from the backend's list", async () => {
    const getAnnotations = jest.fn(async () => ({
      annotations: ['github.com/project-slug', 'my-ci.example.com/pipeline'],
    }));
    const apis: ApiHolder = {
      get: <T>(ref: ApiRef<T>) =>
        ref.id === ciExperienceApiRef.id
          ? ({ getAnnotations } as unknown as T)
          : undefined,
    };

    expect(
      await hasCiExperience(
        entity({ 'github.com/project-slug': 'octo-org/app' }),
        { apis },
      ),
    ).toBe(true);
    expect(getAnnotations).not.toHaveBeenCalled();

    expect(
      await hasCiExperience(
        entity({ 'my-ci.example.com/pipeline': 'pipelines/app' }),
        { apis },
      ),
    ).toBe(true);
    expect(
      await hasCiExperience(entity({ 'my-ci.example.com/pipeline': ' ' }), {
        apis,
      }),
    ).toBe(false);
    expect(await hasCiExperience(entity({ 'other.io/x': 'y' }), { apis })).toBe(
      false,
    );
    // A custom API without the method: built-in annotations only.
    expect(
      await entityHasCi(
        entity({ 'my-ci.example.com/pipeline': 'pipelines/app' }),
        {},
      ),
    ).toBe(false);
  });
});
