// Errors that reach an administrator: a stable `code`, the object they are about, and
// what to do. Capabilities subclass CrossforestError; the CLI prints `message` and `hint`
// and never a stack (unless --verbose). Messages must never contain secrets.

export interface ErrorDetails {
  /** The object the error is about: a DN, a mailbox, a folder, a key path, an endpoint. */
  object?: string;
  /** What the administrator should do about it. */
  hint?: string;
  cause?: unknown;
}

export class CrossforestError extends Error {
  readonly code: string;
  readonly object: string | undefined;
  readonly hint: string | undefined;

  constructor(code: string, message: string, details: ErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = new.target.name;
    this.code = code;
    this.object = details.object;
    this.hint = details.hint;
  }
}

/** The project file is missing, unreadable, or does not validate. */
export class ConfigError extends CrossforestError {
  constructor(message: string, details: ErrorDetails = {}) {
    super('CF_ERR_CONFIG', message, details);
  }
}

/** The state store cannot be opened or migrated. */
export class StateError extends CrossforestError {
  constructor(message: string, details: ErrorDetails = {}) {
    super('CF_ERR_STATE', message, details);
  }
}

/** A lab daemon could not be started, stopped or reached. */
export class LabError extends CrossforestError {
  constructor(message: string, details: ErrorDetails = {}) {
    super('CF_ERR_LAB', message, details);
  }
}

/** One line for a user: message, then the hint. */
export function describeError(err: unknown): string {
  if (err instanceof CrossforestError) {
    return err.hint ? `${err.message}\n  → ${err.hint}` : err.message;
  }
  if (err instanceof Error) return err.message;
  return String(err);
}
