export * from './catalog-snapshot.ts';
export * from './catalog-diff.ts';
export * from './content-fingerprint.ts';
export * from './catalog-digest.ts';
export * from './catalog-revert.ts';
export * from './constraint-violations.ts';
