// "The Internet" for the relay tests: a tiny smtp-server that writes every message it
// accepts, bytes as received, to a folder (one .eml and one .json envelope per message).
// It is the next hop, not the thing under test.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SMTPServer } from 'smtp-server';

export interface SunkMessage {
  file: string;
  mailFrom: string;
  recipients: string[];
  /** RET/ENVID of MAIL FROM as the sink received them (xtext-decoded); null when absent or `dsn: false`. */
  dsn: { ret: string | null; envid: string | null } | null;
  /** NOTIFY/ORCPT of each RCPT TO as received, in order (`{}` for a recipient without them). */
  rcptDsn: { notify?: string[]; orcpt?: string }[];
  raw: Buffer;
}

export interface Sink {
  port: number;
  dir: string;
  messages(): SunkMessage[];
  /** Waits until a message whose raw text includes `needle` arrived (polls the folder). */
  waitFor(needle: string, timeoutMs?: number): Promise<SunkMessage>;
  close(): Promise<void>;
}

/**
 * `dsn: false` makes a sink that does not offer the DSN extension (an old next hop);
 * `refuse` lists recipients it answers `550 5.1.1` at RCPT.
 */
export async function startSink(dir: string, port = 0, opts: { dsn?: boolean; refuse?: string[] } = {}): Promise<Sink> {
  mkdirSync(dir, { recursive: true });
  let n = 0;
  const server = new SMTPServer({
    logger: false,
    authOptional: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    hideDSN: opts.dsn === false,
    onRcptTo(address, _session, cb) {
      if (opts.refuse?.includes(address.address)) cb(Object.assign(new Error('5.1.1 no such user here'), { responseCode: 550 }));
      else cb();
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const base = `${Date.now()}-${process.pid}-${n++}`;
        writeFileSync(join(dir, `${base}.eml`), Buffer.concat(chunks));
        const env = {
          mailFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          recipients: session.envelope.rcptTo.map((r) => r.address),
          dsn: session.envelope.dsn ?? null,
          rcptDsn: session.envelope.rcptTo.map((r) => r.dsn ?? {}),
        };
        writeFileSync(join(dir, `${base}.json`), JSON.stringify(env));
        cb(null, `sunk as ${base}`);
      });
    },
  });
  // smtp-server re-emits a client's socket errors on the server: a relay killed mid-stream
  // (the SIGKILL test) resets its connections, and without a listener that ECONNRESET is an
  // uncaught exception that fails whichever test file is running (CI, once).
  server.on('error', () => undefined);
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const addr = server.server.address();
  const sink: Sink = {
    port: typeof addr === 'object' && addr ? addr.port : port,
    dir,
    messages: () => readMessages(dir),
    async waitFor(needle, timeoutMs = 20_000) {
      const end = Date.now() + timeoutMs;
      for (;;) {
        const hit = readMessages(dir).find((m) => m.raw.includes(needle));
        if (hit) return hit;
        if (Date.now() > end) throw new Error(`no message with ${needle} reached the sink in ${dir}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  return sink;
}

export function readMessages(dir: string): SunkMessage[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.eml'))
    .sort()
    .map((f) => {
      const env = JSON.parse(readFileSync(join(dir, f.replace(/\.eml$/, '.json')), 'utf8')) as Omit<SunkMessage, 'file' | 'raw'>;
      return { file: f, ...env, raw: readFileSync(join(dir, f)) };
    });
}

/** Maildir messages (new/ and cur/) whose text includes `needle`. */
export function maildirMessages(maildir: string, needle: string): Buffer[] {
  const out: Buffer[] = [];
  for (const sub of ['new', 'cur']) {
    let files: string[] = [];
    try {
      files = readdirSync(join(maildir, sub));
    } catch {
      continue;
    }
    for (const f of files) {
      const raw = readFileSync(join(maildir, sub, f));
      if (raw.includes(needle)) out.push(raw);
    }
  }
  return out;
}

/** Polls a Maildir until messages with `needle` (and passing `keep`) are there; [] after 20 s. */
export async function waitForMaildir(maildir: string, needle: string, keep: (m: Buffer) => boolean = () => true): Promise<Buffer[]> {
  const end = Date.now() + 20_000;
  for (;;) {
    const got = maildirMessages(maildir, needle).filter(keep);
    if (got.length > 0 || Date.now() > end) return got;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Removes the trace header fields an MTA prepends (Return-Path, Delivered-To, X-Original-To, Received). */
export function withoutTrace(raw: Buffer): Buffer {
  let text = raw.toString('latin1');
  for (;;) {
    const m = /^(Return-Path|Delivered-To|X-Original-To|Received):[^\n]*\n([ \t][^\n]*\n)*/i.exec(text);
    if (!m) break;
    text = text.slice(m[0].length);
  }
  return Buffer.from(text, 'latin1');
}
