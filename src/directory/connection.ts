// Opens a bound ldapts client for one organization's directory, as configured.
import { type ConnectionOptions, type TLSSocket, connect as tlsConnect } from 'node:tls';
import { Client } from 'ldapts';
import type { DirectoryConfig } from '../config/organization.ts';
import { readReferencedFile, resolveSecret } from '../config/secret.ts';
import { toDirectoryError } from './errors.ts';

export interface DirectoryConnection {
  client: Client;
  config: DirectoryConfig;
  /** The TLS socket when the connection is ldaps:// or upgraded by STARTTLS. */
  tlsSocket(): TLSSocket | undefined;
  close(): Promise<void>;
}

export interface ConnectOptions {
  /** Folder that relative paths (caFile, secret files) are resolved against. */
  baseDir: string;
  /** Key path of the directory in the project file, for messages (organizations.a.directory). */
  keyPath: string;
  /** Bind as this DN/password instead of the configured account (e.g. a user's own bind). */
  bindAs?: { dn: string; password: string };
}

export function tlsOptionsFor(cfg: DirectoryConfig, baseDir: string, host: string, keyPath: string): ConnectionOptions {
  return {
    ca: cfg.caFile ? readReferencedFile(cfg.caFile, baseDir, `${keyPath}.caFile`) : undefined,
    rejectUnauthorized: !cfg.insecureSkipVerify,
    // An IP in the URL is checked against the certificate's IP SANs; SNI takes names only.
    servername: /^[\d.]+$/.test(host) ? undefined : host,
    // The name or IP the certificate must match: STARTTLS (ldapts' startTLS) would otherwise check "localhost".
    host,
  };
}

export async function connectDirectory(cfg: DirectoryConfig, opts: ConnectOptions): Promise<DirectoryConnection> {
  const host = new URL(cfg.url).hostname;
  const tlsOptions = tlsOptionsFor(cfg, opts.baseDir, host, opts.keyPath);
  // Configuration problems surface as ConfigError before any connection is made.
  const dn = opts.bindAs?.dn ?? cfg.bindDn;
  const password = opts.bindAs?.password ?? resolveSecret(cfg.password, opts.baseDir, `${opts.keyPath}.password`);
  let socket: TLSSocket | undefined;
  const client = new Client({
    url: cfg.url,
    timeout: cfg.timeoutMs,
    connectTimeout: cfg.timeoutMs,
    // ldapts treats ANY defined tlsOptions as "connect with TLS", even for ldap:// URLs:
    // give them only to ldaps://, and to startTLS() below.
    ...(cfg.url.startsWith('ldaps:') ? { tlsOptions } : {}),
    strictDN: false,
    createSecureConnection: ((...args: Parameters<typeof tlsConnect>) => {
      socket = (tlsConnect as (...a: unknown[]) => TLSSocket)(...args);
      return socket;
    }) as typeof tlsConnect,
  });
  try {
    if (cfg.startTls && cfg.url.startsWith('ldap://')) await client.startTLS(tlsOptions);
    await client.bind(dn, password);
  } catch (err) {
    await client.unbind().catch(() => {});
    throw toDirectoryError(err, `bind as ${dn}`, cfg.url);
  }
  return {
    client,
    config: cfg,
    tlsSocket: () => socket,
    close: async () => {
      await client.unbind().catch(() => {});
    },
  };
}
