import { createApp } from '@backstage/frontend-defaults';
import catalogPlugin from '@backstage/plugin-catalog/alpha';
import techdocsPlugin from '@backstage/plugin-techdocs/alpha';
import ciExperiencePlugin from '@ci-experience/plugin-ci-experience/alpha';
import { navModule } from './modules/nav';
import { scorecardModule } from './modules/scorecard';

// Listed explicitly so the app works without `app.packages` discovery too;
// with discovery on, createApp keeps one instance per plugin id. TechDocs
// renders CI Experience's troubleshooting guides, which failure classes link
// to (/docs/default/component/ci-experience/troubleshooting/<class>/). The
// scorecard module adds Tech Insights' checks on CI facts to overviews.
export default createApp({
  features: [
    catalogPlugin,
    techdocsPlugin,
    ciExperiencePlugin,
    navModule,
    scorecardModule,
  ],
});
