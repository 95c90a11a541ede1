export * from './report';
export * from './junit';
export { zipOf } from './zip';
