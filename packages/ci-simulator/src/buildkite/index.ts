export * from './BuildkiteSimulator';
export * from './webhooks';
