/**
 * Test utilities for CI Experience providers: a cache in memory and the
 * contract test kit.
 *
 * @packageDocumentation
 */

export * from './memoryCache';
export * from './contract';
export * from './jsonShape';
