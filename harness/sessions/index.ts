export * from './session-step.ts';
export * from './interleaving-executor.ts';
export * from './isolation-spec.ts';
export * from './step-outcome.ts';
