export * from './GitlabSimulator';
export * from './webhooks';
