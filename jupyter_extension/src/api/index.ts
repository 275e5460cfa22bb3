export * from './client';
export * from './errors';
export * from './live';
export * from './types';
