export * from './starting-state.ts';
export * from './state-steps.ts';
export * from './state-templates.ts';
export * from './scaled-states.ts';
