export * from './JenkinsSimulator';
export * from './webhooks';
export * from './JenkinsWebhookSender';
export { parseTree, applyTree } from './tree';
export type { TreeField } from './tree';
export { jenkinsTestReport } from './testReport';
