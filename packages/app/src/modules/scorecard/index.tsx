import { createFrontendModule } from '@backstage/frontend-plugin-api';
import { EntityCardBlueprint } from '@backstage/plugin-catalog-react/alpha';
import { hasCiAnnotation } from '@ci-experience/plugin-ci-experience-common';

/** The "CI scorecard" card on the overview of entities with CI. */
export const ciScorecardCard = EntityCardBlueprint.make({
  name: 'ci-scorecard',
  params: {
    filter: hasCiAnnotation,
    loader: () => import('./CiScorecardCard').then(m => <m.CiScorecardCard />),
  },
});

export const scorecardModule = createFrontendModule({
  pluginId: 'catalog',
  extensions: [ciScorecardCard],
});
