// One pino logger for the process; library code takes a child with its scope
// (run, agent, batch, mailbox) and never writes to the console itself.
import { type Logger, pino } from 'pino';

export type { Logger };

const REDACT = ['password', '*.password', 'credentials', '*.credentials', 'secret', '*.secret', 'pass', '*.pass'];

export function createLogger(opts: { verbose?: boolean; destination?: number } = {}): Logger {
  const level = process.env.CROSSFOREST_LOG_LEVEL ?? (opts.verbose ? 'debug' : 'warn');
  return pino({ level, base: undefined, redact: { paths: REDACT, censor: '[secret]' } }, pino.destination(opts.destination ?? 2));
}

/** A logger that drops everything: for tests and library callers that pass none. */
export const silentLogger: Logger = pino({ level: 'silent' });
