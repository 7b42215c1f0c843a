// Who may relay through a listener (transport.listeners[].clients, issue 17): addresses and
// networks that relay without logging in, and SMTP AUTH accounts (over TLS only). Decided
// before the listener binds: a listener on any address but loopback that names neither
// would be an open relay, and refuses to start, saying why.
import { BlockList, isIP } from 'node:net';
import { SecretAccounts } from '../config/accounts.ts';
import type { RelayListenerConfig } from '../config/transport.ts';
import { isLoopbackHost } from '../util/loopback.ts';
import { RelayError } from './errors.ts';

export interface ClientPolicy {
  /** No `clients` section on a loopback listener: every local process may relay (the lab's and a single host's way). */
  readonly localOnly: boolean;
  /** The client may relay without logging in. */
  allowed(address: string): boolean;
  /** SMTP AUTH accounts, when the listener has any. */
  readonly accounts: SecretAccounts | undefined;
}

/** An IPv4-mapped IPv6 address (::ffff:10.1.2.3, as a dual-stack socket reports it) as the IPv4 one. */
function plainAddress(address: string): { address: string; family: 'ipv4' | 'ipv6' } {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (m) return { address: m[1] as string, family: 'ipv4' };
  return { address, family: isIP(address) === 6 ? 'ipv6' : 'ipv4' };
}

export function clientPolicy(listener: RelayListenerConfig, baseDir: string): ClientPolicy {
  const key = `transport.listeners.${listener.name}`;
  const where = `${listener.listen.host}:${listener.listen.port}`;
  const clients = listener.clients;
  const loopback = isLoopbackHost(listener.listen.host);
  if (!clients || (clients.allow.length === 0 && clients.accounts.length === 0)) {
    if (loopback) return { localOnly: true, allowed: () => true, accounts: undefined };
    throw new RelayError(
      `relay listener ${listener.name} would be an open relay on ${where}: it lets no one in by address (clients.allow) or login (clients.accounts), so it does not start`,
      {
        object: `${key}.clients`,
        hint: `add clients.allow with the addresses or networks of the MTAs that send through it (e.g. [10.1.0.0/16]) and/or clients.accounts for SMTP AUTH over TLS, or listen on 127.0.0.1`,
      },
    );
  }
  if (clients.accounts.length > 0 && !listener.tls)
    throw new RelayError(`relay listener ${listener.name} has clients.accounts but no tls: SMTP AUTH is offered only over TLS`, {
      object: `${key}.tls`,
      hint: 'give the listener tls.certFile and tls.keyFile (PEM), or drop clients.accounts and use clients.allow',
    });
  const list = new BlockList();
  for (const net of clients.allow) {
    const [addr, prefix] = net.split('/') as [string, string | undefined];
    const family = isIP(addr) === 6 ? 'ipv6' : 'ipv4';
    if (prefix === undefined) list.addAddress(addr, family);
    else list.addSubnet(addr, Number(prefix), family);
  }
  const accounts = clients.accounts.length
    ? new SecretAccounts(clients.accounts, `${key}.clients.accounts`, baseDir, 'relay account')
    : undefined;
  accounts?.validate();
  return {
    localOnly: false,
    allowed(address) {
      const p = plainAddress(address);
      return list.check(p.address, p.family);
    },
    accounts,
  };
}
