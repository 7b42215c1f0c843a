// Loading the lab's calendars and address books into Radicale: written straight into its
// multifilesystem storage (lab/radicale/corpus.ts writeRadicaleCorpus, Radicale stopped)
// vs. over HTTP (MKCALENDAR / extended MKCOL with the same properties, then one PUT per
// item as calmigrate, C at a time). Each run uses a Radicale of its own on a free loopback
// port and a scratch folder (not the lab's), then reads every collection once (PROPFIND
// Depth 1 with getetag: Radicale parses every item and fills its cache). Figures only.
//   node --import tsx bench/radicale.ts [--users 20] [--events 500] [--contacts 200] [--tasks 10] [--connections 4] [--fsync] [--json]
//   (without --events/--contacts/--tasks: the lab's per-user ranges, for the default `lab up` sizes)
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type RadicaleCounts, writeRadicaleCorpus } from '../lab/radicale/corpus.ts';
import { CALMIGRATE_USER } from '../lab/radicale/radicale.ts';
import { type BenchRadicale, CALMIGRATE_AUTH, startRadicale as startServer, stopRadicales } from './peers/radicaleServers.ts';

const { values: args } = parseArgs({
  options: {
    users: { type: 'string', default: '20' },
    events: { type: 'string' },
    tasks: { type: 'string' },
    contacts: { type: 'string' },
    connections: { type: 'string', default: '4' },
    /** Plain /usr/bin/radicale, with its fsync (the lab's launcher turns it off). */
    fsync: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  },
});
const users = Number(args.users);
const connections = Number(args.connections);
const counts: Partial<RadicaleCounts> = {
  ...(args.events ? { events: Number(args.events) } : {}),
  ...(args.tasks ? { tasks: Number(args.tasks) } : {}),
  ...(args.contacts ? { contacts: Number(args.contacts) } : {}),
};
const say = (line: string) => process.stderr.write(`${line}\n`);

const startRadicale = (dir: string): Promise<BenchRadicale> => startServer(dir, { fsync: args.fsync });

async function dav(s: BenchRadicale, method: string, path: string, body?: string, headers: Record<string, string> = {}): Promise<number> {
  const r = await fetch(`${s.url}${path}`, { method, body, headers: { authorization: CALMIGRATE_AUTH, ...headers } });
  await r.arrayBuffer();
  return r.status;
}

const xml = (v: string) => v.replace(/&/g, '&amp;').replace(/</g, '&lt;');

function mkBody(props: Record<string, string>): { method: string; body: string } {
  const name = `<D:displayname>${xml(props['D:displayname'] ?? '')}</D:displayname>`;
  if (props.tag === 'VADDRESSBOOK') {
    return {
      method: 'MKCOL',
      body:
        '<?xml version="1.0" encoding="utf-8"?><D:mkcol xmlns:D="DAV:" xmlns:CR="urn:ietf:params:xml:ns:carddav"><D:set><D:prop>' +
        `<D:resourcetype><D:collection/><CR:addressbook/></D:resourcetype>${name}` +
        `<CR:addressbook-description>${xml(props['CR:addressbook-description'] ?? '')}</CR:addressbook-description></D:prop></D:set></D:mkcol>`,
    };
  }
  const comps = (props['C:supported-calendar-component-set'] ?? 'VEVENT')
    .split(',')
    .map((c) => `<C:comp name="${c}"/>`)
    .join('');
  return {
    method: 'MKCALENDAR',
    body:
      '<?xml version="1.0" encoding="utf-8"?><C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav" xmlns:ICAL="http://apple.com/ns/ical/">' +
      `<D:set><D:prop>${name}<C:calendar-description>${xml(props['C:calendar-description'] ?? '')}</C:calendar-description>` +
      `<ICAL:calendar-color>${xml(props['ICAL:calendar-color'] ?? '')}</ICAL:calendar-color>` +
      `<C:supported-calendar-component-set>${comps}</C:supported-calendar-component-set></D:prop></D:set></C:mkcalendar>`,
  };
}

/** Every collection of a storage root: [`/<upn>/<name>/`, its folder]. */
function collectionsOf(root: string): [string, string][] {
  const visible = (dir: string) => readdirSync(dir).filter((n) => !n.startsWith('.'));
  return visible(root).flatMap((upn) => visible(join(root, upn)).map((c): [string, string] => [`/${upn}/${c}/`, join(root, upn, c)]));
}

/** MKCALENDAR/MKCOL + PUT of every item found under `source` (a storage root written by the generator). */
async function loadOverHttp(s: BenchRadicale, source: string): Promise<{ requests: number; failures: number }> {
  let requests = 0;
  let failures = 0;
  for (const upn of readdirSync(source)) {
    if (upn === CALMIGRATE_USER || upn.startsWith('.')) continue;
    requests++;
    if ((await dav(s, 'MKCOL', `/${encodeURIComponent(upn)}/`)) !== 201) failures++;
  }
  const puts: [string, string, string][] = [];
  for (const [href, dir] of collectionsOf(source)) {
    const props = JSON.parse(readFileSync(join(dir, '.Radicale.props'), 'utf8')) as Record<string, string>;
    const { method, body } = mkBody(props);
    requests++;
    if ((await dav(s, method, href, body, { 'content-type': 'application/xml; charset=utf-8' })) !== 201) failures++;
    const type = props.tag === 'VADDRESSBOOK' ? 'text/vcard; charset=utf-8' : 'text/calendar; charset=utf-8';
    for (const f of readdirSync(dir)) if (!f.startsWith('.')) puts.push([`${href}${f}`, join(dir, f), type]);
  }
  let next = 0;
  await Promise.all(
    Array.from({ length: connections }, async () => {
      for (let i = next++; i < puts.length; i = next++) {
        const [href, file, type] = puts[i] as [string, string, string];
        requests++;
        const status = await dav(s, 'PUT', href, readFileSync(file, 'utf8'), { 'content-type': type, 'if-none-match': '*' });
        if (status !== 201) failures++;
      }
    }),
  );
  return { requests, failures };
}

/** PROPFIND Depth 1 (getetag) of every collection: Radicale reads and caches every item. */
async function readAll(s: BenchRadicale, root: string): Promise<number> {
  const body = '<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:"><D:prop><D:getetag/></D:prop></D:propfind>';
  let bad = 0;
  for (const [href] of collectionsOf(root)) {
    if ((await dav(s, 'PROPFIND', href, body, { depth: '1', 'content-type': 'application/xml' })) !== 207) bad++;
  }
  return bad;
}

const seconds = (t0: number) => Math.round(performance.now() - t0) / 1000;

const scratch = mkdtempSync(join(tmpdir(), 'cf-bench-radicale-'));
const servers: BenchRadicale[] = [];
try {
  // Files: generate straight into the storage, then start Radicale and read everything once.
  const fileDir = join(scratch, 'files');
  const fileRoot = join(fileDir, 'collections', 'collection-root');
  let t0 = performance.now();
  const m = writeRadicaleCorpus(fileRoot, { forest: 'a', size: Math.max(users * 2, 50), seed: 'crossforest', users, counts });
  const fileWrite = seconds(t0);
  const { events, tasks, contacts, files, bytes } = m.totals;
  say(`${m.totals.users} users: ${events} events, ${tasks} tasks, ${contacts} vCards (${files} files, ${(bytes / 1e6).toFixed(1)} MB)`);
  t0 = performance.now();
  const fs = await startRadicale(fileDir);
  servers.push(fs);
  const fileStart = seconds(t0);
  t0 = performance.now();
  const fileBad = await readAll(fs, fileRoot);
  const fileRead = seconds(t0);
  say(`files: generated and written in ${fileWrite} s, Radicale up in ${fileStart} s, first full read ${fileRead} s (${fileBad} failed)`);

  // HTTP: an empty Radicale, then MKCALENDAR/MKCOL + PUT of the same items as calmigrate.
  const httpDir = join(scratch, 'http');
  mkdirSync(httpDir, { recursive: true });
  const hs = await startRadicale(httpDir);
  servers.push(hs);
  t0 = performance.now();
  const loaded = await loadOverHttp(hs, fileRoot);
  const httpLoad = seconds(t0);
  t0 = performance.now();
  const httpBad = await readAll(hs, join(httpDir, 'collections', 'collection-root'));
  const httpRead = seconds(t0);
  say(
    `http: ${loaded.requests} requests (${connections} at a time) in ${httpLoad} s = ${Math.round(loaded.requests / httpLoad)}/s, ` +
      `${loaded.failures} failed; first full read ${httpRead} s (${httpBad} failed)`,
  );
  if (args.json) {
    process.stdout.write(
      `${JSON.stringify({ totals: m.totals, files: { write: fileWrite, start: fileStart, read: fileRead }, http: { ...loaded, load: httpLoad, read: httpRead } })}\n`,
    );
  }
} finally {
  await stopRadicales(servers);
  rmSync(scratch, { recursive: true, force: true });
}
