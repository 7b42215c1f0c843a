// Which endpoints the audit looks at: every organization's IMAP (mailStore) and LDAP
// (directory), the `audit.endpoints` list, and any host:port given on the command line;
// and which of them we may touch at all (loopback, or listed in audit.ownedHosts).
import type { LoadedProject } from '../config/load.ts';
import { imapPort, orgMailStores } from '../config/organization.ts';
import { readReferencedFile } from '../config/secret.ts';
import { ConfigError } from '../util/errors.ts';
import { isLoopbackHost } from '../util/loopback.ts';
import type { AuditEndpoint, Protocol } from './types.ts';

const PORT_PROTOCOL: Record<number, { protocol: Protocol; tls: AuditEndpoint['tls'] }> = {
  25: { protocol: 'smtp', tls: 'starttls' },
  465: { protocol: 'submission', tls: 'implicit' },
  587: { protocol: 'submission', tls: 'starttls' },
  110: { protocol: 'pop3', tls: 'starttls' },
  995: { protocol: 'pop3', tls: 'implicit' },
  143: { protocol: 'imap', tls: 'starttls' },
  993: { protocol: 'imap', tls: 'implicit' },
  389: { protocol: 'ldap', tls: 'starttls' },
  636: { protocol: 'ldap', tls: 'implicit' },
  80: { protocol: 'http', tls: 'none' },
  443: { protocol: 'http', tls: 'implicit' },
};

export function projectEndpoints(project: LoadedProject): AuditEndpoint[] {
  const { config, baseDir } = project;
  const audit = config.audit;
  const defaultCa = audit?.caFile ? readReferencedFile(audit.caFile, baseDir, 'audit.caFile') : undefined;
  const out: AuditEndpoint[] = [];
  for (const [id, org] of Object.entries(config.organizations)) {
    // Every mail server of the organization: the estate's weakest one is what the audit is for.
    for (const store of orgMailStores(org, id))
      out.push({
        organization: id,
        protocol: 'imap',
        host: store.host,
        port: imapPort(store),
        tls: store.tls,
        openRelayTest: false,
        servername: undefined,
        ca: store.caFile ? readReferencedFile(store.caFile, baseDir, `${store.keyPath}.caFile`) : defaultCa,
        source: store.keyPath,
      });
    const url = new URL(org.directory.url);
    const ldaps = url.protocol === 'ldaps:';
    out.push({
      organization: id,
      protocol: 'ldap',
      host: url.hostname,
      port: url.port ? Number(url.port) : ldaps ? 636 : 389,
      tls: ldaps ? 'implicit' : org.directory.startTls ? 'starttls' : 'none',
      openRelayTest: false,
      servername: undefined,
      ca: org.directory.caFile ? readReferencedFile(org.directory.caFile, baseDir, `organizations.${id}.directory.caFile`) : defaultCa,
      source: `organizations.${id}.directory`,
    });
  }
  // The coexistence service (`crossforest serve`) is an HTTP endpoint of ours too.
  const coex = config.coexistence;
  if (coex) {
    out.push({
      organization: undefined,
      protocol: 'http',
      // A wildcard listen address is reached on loopback from here.
      host: coex.listen.host === '0.0.0.0' || coex.listen.host === '::' ? '127.0.0.1' : coex.listen.host,
      port: coex.listen.port,
      tls: coex.tls ? 'implicit' : 'none',
      openRelayTest: false,
      servername: coex.publicHost,
      ca: defaultCa,
      source: 'coexistence.listen',
    });
  }
  // crossforest's own relay listeners (`crossforest relay`): an SMTP endpoint of ours, probed
  // for open relaying, TLS and clear-text AUTH like any other. A wildcard address is reached on loopback.
  for (const l of config.transport?.listeners ?? []) {
    const wildcard = l.listen.host === '0.0.0.0' || l.listen.host === '::';
    out.push({
      organization: undefined,
      protocol: 'smtp',
      host: wildcard ? '127.0.0.1' : l.listen.host,
      port: l.listen.port,
      tls: l.tls ? 'starttls' : 'none',
      openRelayTest: true,
      servername: undefined,
      ca: defaultCa,
      source: `transport.listeners.${l.name}`,
      relayListener: { name: l.name, localOnly: isLoopbackHost(l.listen.host) && !l.clients },
    });
  }
  (audit?.endpoints ?? []).forEach((e, i) => {
    if (e.organization !== undefined && !(e.organization in config.organizations)) {
      throw new ConfigError(`audit.endpoints[${i}].organization: no organization "${e.organization}"`, {
        object: `audit.endpoints[${i}]`,
        hint: `use one of ${Object.keys(config.organizations).join(', ')}`,
      });
    }
    out.push({
      organization: e.organization,
      protocol: e.protocol,
      host: e.host,
      port: e.port,
      tls: e.tls,
      openRelayTest: e.openRelayTest ?? (e.protocol === 'smtp' || e.protocol === 'submission'),
      servername: e.servername,
      ca: defaultCa,
      source: `audit.endpoints[${i}]`,
    });
  });
  return out;
}

/**
 * A target from the command line: `host:port`, or `protocol://host:port` when the port
 * does not say the protocol (`imap://127.0.0.1:1431`). TLS is found out by probing.
 */
export function parseTarget(text: string, ca: Buffer | undefined): AuditEndpoint {
  const m = /^(?:(smtp|submission|imap|pop3|ldap|http):\/\/)?(\[[0-9a-f:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/i.exec(text.trim());
  const port = m ? Number(m[3]) : Number.NaN;
  if (!m || port < 1 || port > 65535) {
    throw new ConfigError(`"${text}" is not host:port`, {
      object: text,
      hint: 'write host:port (127.0.0.1:993) or protocol://host:port (imap://127.0.0.1:1431, smtp://127.0.0.1:2525)',
    });
  }
  const known = PORT_PROTOCOL[port];
  const protocol = (m[1]?.toLowerCase() as Protocol | undefined) ?? known?.protocol;
  if (!protocol) {
    throw new ConfigError(`cannot tell the protocol of ${text} from its port`, {
      object: text,
      hint: `name it: smtp://${m[2]}:${port}, imap://…, pop3://…, submission://…, ldap://…, http://…`,
    });
  }
  return {
    organization: undefined,
    protocol,
    host: m[2]!.replace(/^\[|\]$/g, ''),
    port,
    tls: 'unknown',
    openRelayTest: protocol === 'smtp' || protocol === 'submission',
    servername: undefined,
    ca,
    source: 'command line',
  };
}

/** Loopback by address or by the name `localhost`; names are not resolved (no DNS tricks). */
export function isOwned(host: string, ownedHosts: readonly string[]): boolean {
  return isLoopbackHost(host) || ownedHosts.some((o) => o.toLowerCase() === host.toLowerCase());
}
