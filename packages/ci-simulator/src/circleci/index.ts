export * from './CircleciSimulator';
export * from './webhooks';
