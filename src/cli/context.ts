// What most commands need: the project file, a logger, the state store.
import type { Command } from '@commander-js/extra-typings';
import { type LoadedProject, loadProject } from '../config/load.ts';
import { openProjectState, type StateStore } from '../state/store.ts';
import { createLogger, type Logger } from '../util/logger.ts';

export interface GlobalOptions {
  config: string;
  json?: boolean;
  verbose?: boolean;
}

export function globals(cmd: Command<unknown[], Record<string, unknown>>): GlobalOptions {
  return cmd.optsWithGlobals() as unknown as GlobalOptions;
}

export interface CommandContext {
  project: LoadedProject;
  logger: Logger;
  json: boolean;
  /** Opened on first use (the same store on every call); closed by the command. */
  state(): Promise<StateStore>;
}

export function commandContext(cmd: Command<unknown[], Record<string, unknown>>): CommandContext {
  const g = globals(cmd);
  const project = loadProject(g.config);
  const logger = createLogger({ verbose: Boolean(g.verbose) });
  let store: Promise<StateStore> | undefined;
  return {
    project,
    logger,
    json: Boolean(g.json),
    state: () => {
      store ??= openProjectState(project);
      return store;
    },
  };
}
