export * from './model';
export { DEMO_REPOS } from './demoRepos';
export * from './SimulatedHistory';
export * from './demoTests';
export {
  brokenTests,
  failingTests,
  isBrokenAt,
  testFailureLog,
} from './testRuns';
