export * from './annotations';
export * from './status';
