export * from './catalog-snapshot.ts';
export * from './catalog-diff.ts';
export * from './content-fingerprint.ts';
