// `crossforest relay`: every listener of the project's `transport:` section (or the
// named ones), sharing one policy table built from the organizations' domains.
import type { LoadedProject } from '../config/load.ts';
import { ConfigError } from '../util/errors.ts';
import type { Logger } from '../util/logger.ts';
import { type PolicyTable, policyTable } from './policy.ts';
import { type RelayListenerHandle, startRelayListener } from './relayListener.ts';

export interface Relay {
  listeners: RelayListenerHandle[];
  table: PolicyTable;
  close(): Promise<void>;
}

/** The policy table of a project: both organizations' mail domains are internal. */
export function projectPolicyTable(project: LoadedProject): PolicyTable {
  const orgDomains = Object.values(project.config.organizations).map((o) => o.mailDomain);
  return policyTable(project.config.transport, orgDomains);
}

export async function startRelay(project: LoadedProject, opts: { only?: string[]; logger: Logger }): Promise<Relay> {
  const transport = project.config.transport;
  if (!transport || transport.listeners.length === 0) {
    throw new ConfigError('the project file has no transport.listeners', {
      object: 'transport.listeners',
      hint: 'add a transport: section with at least one listener (see `crossforest init` for an example)',
    });
  }
  const unknown = (opts.only ?? []).filter((n) => !transport.listeners.some((l) => l.name === n));
  if (unknown.length > 0) {
    throw new ConfigError(`no relay listener named ${unknown.join(', ')}`, {
      object: 'transport.listeners',
      hint: `known listeners: ${transport.listeners.map((l) => l.name).join(', ')}`,
    });
  }
  const chosen = transport.listeners.filter((l) => !opts.only?.length || opts.only.includes(l.name));
  const table = projectPolicyTable(project);
  const listeners: RelayListenerHandle[] = [];
  try {
    for (const listener of chosen) {
      listeners.push(
        await startRelayListener({
          listener,
          limits: transport.limits,
          table,
          hostname: transport.hostname,
          baseDir: project.baseDir,
          logger: opts.logger,
        }),
      );
    }
  } catch (err) {
    await Promise.all(listeners.map((l) => l.close()));
    throw err;
  }
  return {
    listeners,
    table,
    async close() {
      await Promise.all(listeners.map((l) => l.close()));
    },
  };
}
