export * from './status';
export * from './annotations';
