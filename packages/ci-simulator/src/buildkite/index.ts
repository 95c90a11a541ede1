export * from './BuildkiteSimulator';
export * from './webhooks';
export * from './BuildkiteWebhookSender';
