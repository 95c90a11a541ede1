export * from './GitlabSimulator';
export * from './webhooks';
export * from './GitlabWebhookSender';
export { gitlabTestReport } from './testReport';
