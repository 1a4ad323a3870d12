export * from './session-step.ts';
export * from './interleaving-executor.ts';
export * from './isolation-spec.ts';
export * from './sequential-runner.ts';
export * from './sql-text.ts';
export * from './step-outcome.ts';
