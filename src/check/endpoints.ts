// `crossforest check`: connect to every endpoint of every organization and say, per
// endpoint, whether it is reachable, whether we authenticate, what TLS it offers and
// what software answers. Checks run in parallel; one failure never hides the others.
import { probeTls, type TlsProbeResult } from '../audit/tlsProbe.ts';
import { DavServer } from '../calendar/index.ts';
import type { CalendarServerConfig } from '../config/calendar.ts';
import type { LoadedProject } from '../config/load.ts';
import { type DirectoryConfig, imapPort, type OrgMailStore, orgMailStores } from '../config/organization.ts';
import { readReferencedFile } from '../config/secret.ts';
import { connectDirectory } from '../directory/connection.ts';
import { openMailSession, storeAddress } from '../mail/connection.ts';
import { toMailStoreError } from '../mail/errors.ts';
import { ConfigError, describeError } from '../util/errors.ts';

export interface EndpointCheck {
  organization: string;
  endpoint: 'directory' | 'mailStore' | 'calendar';
  /** The mail server's name (organizations.<id>.mailStores[].name; the organization id for a single mailStore). */
  server?: string;
  address: string;
  /** false when the check never got to connect (a configuration problem). */
  reachable: boolean | 'not tested';
  authenticated: boolean | 'not tested';
  tls: string;
  software: string;
  latencyMs: number | undefined;
  ok: boolean;
  error: string | undefined;
}

export async function checkEndpoints(project: LoadedProject): Promise<EndpointCheck[]> {
  const jobs: Promise<EndpointCheck>[] = [];
  for (const [id, org] of Object.entries(project.config.organizations)) {
    jobs.push(checkDirectory(id, org.directory, project.baseDir));
    // Every mail server of the organization, each on its own row.
    for (const st of orgMailStores(org, id)) jobs.push(checkMailStore(id, st, project.baseDir));
    if (org.calendar) jobs.push(checkCalendar(id, org.calendar, project.baseDir));
  }
  return Promise.all(jobs);
}

function newRow(organization: string, endpoint: EndpointCheck['endpoint'], address: string, tls: string): EndpointCheck {
  return {
    organization,
    endpoint,
    address,
    reachable: false,
    authenticated: false,
    tls,
    software: '',
    latencyMs: undefined,
    ok: false,
    error: undefined,
  };
}

function describeTls(t: TlsProbeResult, how: string): string {
  const cert = t.certificate;
  const trust = t.authorized ? 'trusted' : `untrusted: ${t.authorizationError}`;
  return `${how} ${t.protocol ?? ''}, ${trust}${cert ? `, expires in ${cert.daysLeft} d` : ''}`;
}

async function checkDirectory(org: string, cfg: DirectoryConfig, baseDir: string): Promise<EndpointCheck> {
  const row = newRow(org, 'directory', cfg.url, cfg.url.startsWith('ldaps:') ? 'ldaps' : cfg.startTls ? 'STARTTLS' : 'none');
  const started = performance.now();
  try {
    const conn = await connectDirectory(cfg, { baseDir, keyPath: `organizations.${org}.directory` });
    row.reachable = true;
    row.authenticated = true;
    try {
      const socket = conn.tlsSocket();
      if (socket) {
        const cert = socket.getPeerCertificate();
        const days = cert?.valid_to ? Math.floor((new Date(cert.valid_to).getTime() - Date.now()) / 86_400_000) : undefined;
        row.tls = `${row.tls} ${socket.getProtocol() ?? ''}, ${socket.authorized ? 'trusted' : `untrusted: ${socket.authorizationError}`}${days === undefined ? '' : `, expires in ${days} d`}`;
      }
      const { searchEntries: root } = await conn.client.search('', { scope: 'base', attributes: ['*', '+'] });
      row.software = directorySoftware(root[0] ?? {});
      await conn.client.search(cfg.baseDn, { scope: 'base', attributes: ['objectClass'] });
      row.latencyMs = Math.round(performance.now() - started);
      row.ok = true;
    } finally {
      await conn.close();
    }
  } catch (err) {
    row.reachable = reachability(err, row.reachable);
    row.error = describeError(err);
  }
  return row;
}

function directorySoftware(root: Record<string, unknown>): string {
  const values = (k: string) => ([] as unknown[]).concat(root[k] ?? []).map(String);
  const vendor = values('vendorName')[0];
  if (vendor) return `${vendor} ${values('vendorVersion')[0] ?? ''}`.trim();
  if (values('objectClass').includes('OpenLDAProotDSE')) return 'OpenLDAP';
  if (values('forestFunctionality').length > 0) return `Active Directory (forest level ${values('forestFunctionality')[0]})`;
  return 'LDAPv3';
}

async function checkMailStore(org: string, cfg: OrgMailStore, baseDir: string): Promise<EndpointCheck> {
  const row = newRow(org, 'mailStore', storeAddress(cfg), 'none');
  row.server = cfg.name;
  if (!cfg.probeMailbox) row.authenticated = 'not tested';
  const started = performance.now();
  try {
    if (cfg.tls !== 'none') {
      const probe = await probeTls({
        host: cfg.host,
        port: imapPort(cfg),
        mode: cfg.tls === 'implicit' ? 'implicit' : 'starttls-imap',
        ca: cfg.caFile ? readReferencedFile(cfg.caFile, baseDir, `${cfg.keyPath}.caFile`) : undefined,
        timeoutMs: cfg.timeoutMs,
      }).catch((err: unknown) => {
        throw toMailStoreError(err, 'open a TLS connection', storeAddress(cfg));
      });
      row.reachable = true;
      row.tls = describeTls(probe, cfg.tls === 'implicit' ? 'implicit' : 'STARTTLS');
      row.software = probe.preamble[0]?.replace(/^\* OK (\[[^\]]*\] )?/, '') ?? '';
    }
    if (cfg.probeMailbox) {
      const client = await openMailSession(cfg, cfg.probeMailbox, { baseDir, keyPath: cfg.keyPath });
      row.reachable = true;
      row.authenticated = true;
      try {
        const info = client.serverInfo as Record<string, string> | null;
        if (info?.name) row.software = `${info.name}${info.version ? ` ${info.version}` : ''}`;
        else if (client.greeting) row.software = client.greeting;
        await client.status('INBOX', { messages: true });
      } finally {
        await client.logout().catch(() => client.close());
      }
    }
    row.latencyMs = Math.round(performance.now() - started);
    row.ok = true;
  } catch (err) {
    row.reachable = reachability(err, row.reachable);
    row.error = describeError(err);
  }
  return row;
}

/** The CalDAV/CardDAV server: it answers, and the service account logs in and finds its home. */
async function checkCalendar(org: string, cfg: CalendarServerConfig, baseDir: string): Promise<EndpointCheck> {
  const row = newRow(org, 'calendar', cfg.url, cfg.url.startsWith('https:') ? 'https' : 'none (http)');
  const started = performance.now();
  try {
    const home = await new DavServer(org, cfg, baseDir).probe();
    row.reachable = true;
    row.authenticated = true;
    row.software = `CalDAV/CardDAV as ${cfg.user}, ${home}`;
    row.latencyMs = Math.round(performance.now() - started);
    row.ok = true;
  } catch (err) {
    row.reachable = reachability(err, (err as { code?: string }).code === 'CF_ERR_CALDAV_AUTH' ? true : row.reachable);
    row.error = describeError(err);
  }
  return row;
}

/** After a failure: was the endpoint reached before it failed? */
function reachability(err: unknown, sofar: EndpointCheck['reachable']): EndpointCheck['reachable'] {
  if (err instanceof ConfigError) return sofar === true ? true : 'not tested';
  const code = (err as { code?: string }).code ?? '';
  if (/UNREACHABLE|TIMEOUT|ECONNREFUSED/.test(code) || /ECONNREFUSED|timed? ?out/i.test((err as Error).message)) return false;
  return true;
}
