export * from './model';
export { DEMO_REPOS } from './demoRepos';
export * from './SimulatedHistory';
