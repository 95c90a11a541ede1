export * from './JenkinsSimulator';
export * from './webhooks';
export { parseTree, applyTree } from './tree';
export type { TreeField } from './tree';
