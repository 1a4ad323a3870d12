export * from './starting-state.ts';
export * from './state-templates.ts';
