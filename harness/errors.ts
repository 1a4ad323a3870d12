/**
 * A usage or setup problem (exit 2): bad options, missing migrations, a server that cannot be
 * started or reached. The message is one line a user can act on.
 */
export class SetupError extends Error {
  override readonly name = 'SetupError';
}

export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
