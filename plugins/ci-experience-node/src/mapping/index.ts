export * from './instants';
export * from './instantSchema';
export * from './runIds';
export * from './parseItems';
export * from './runBounds';
export * from './reportArtifacts';
