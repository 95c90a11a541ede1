/**
 * Test utilities for CI Experience providers: a cache in memory, the
 * contract test kit and a zip writer for artifact tests.
 *
 * @packageDocumentation
 */

export * from './memoryCache';
export * from './contract';
export * from './jsonShape';
export * from './zip';
