/**
 * Errors the CLI shows as one clear sentence (no stack trace). Anything thrown by the library
 * with a message is shown the same way; AELAB_DEBUG=1 adds the stack.
 */
export class UserError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'UserError';
  }
}

export function formatError(e: unknown): string {
  if (e instanceof Error) {
    const debug = process.env.AELAB_DEBUG === '1';
    return debug && e.stack ? e.stack : e.message;
  }
  return String(e);
}
