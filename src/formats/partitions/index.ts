export * from './binary.ts';
export * from './builtin.ts';
export * from './csv.ts';
export * from './load.ts';
export * from './ota.ts';
export * from './types.ts';
export * from './validate.ts';
