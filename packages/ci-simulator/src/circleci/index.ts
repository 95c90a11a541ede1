export * from './CircleciSimulator';
export * from './webhooks';
export * from './CircleciWebhookSender';
