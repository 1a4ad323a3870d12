/**
 * When the command began (performance.now()): what `verify --budget` counts from. `main` marks
 * it as it parses the arguments, so a command run in-process (the tests) counts from its own
 * start, not the process's; the Node start-up before it is covered by the budget's reserve.
 */
let started = performance.now();

export function markCommandStart(): void {
  started = performance.now();
}

export function commandStart(): number {
  return started;
}
