import type { PropertyGroup, PropertyResult } from './property-result.ts';

/** Follows one property while it runs. */
export interface ProgressTask {
  /** One more execution of the property (a run, or a shrink attempt after a failure). */
  tick(passed: boolean): void;
  done(result: PropertyResult): void;
}

/** Where a run reports what it is doing; `start` is called once per property and state. */
export interface Progress {
  /** `runs`: what the property will run; under --budget (`until`), the least it needs, more if its time allows. */
  start(state: string, property: string, group: PropertyGroup, runs: number, until?: 'budget'): ProgressTask;
  stop(): void;
}
