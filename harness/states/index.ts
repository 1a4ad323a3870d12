export * from './starting-state.ts';
export * from './state-steps.ts';
export * from './state-templates.ts';
