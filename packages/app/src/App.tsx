import { createApp } from '@backstage/frontend-defaults';
import catalogPlugin from '@backstage/plugin-catalog/alpha';
import ciExperiencePlugin from '@ci-experience/plugin-ci-experience/alpha';
import { navModule } from './modules/nav';

// Listed explicitly so the app works without `app.packages` discovery too;
// with discovery on, createApp keeps one instance per plugin id.
export default createApp({
  features: [catalogPlugin, ciExperiencePlugin, navModule],
});
