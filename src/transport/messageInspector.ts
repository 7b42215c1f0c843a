// Streams a message through mailsplit once: collects the evidence detection needs
// (top-level headers, report type, DSN actions) and removes the requested top-level
// header fields. mailsplit re-emits every byte it does not touch, so the body and all
// other MIME parts leave exactly as they came; only an edited header block is rebuilt
// (with CRLF line ends, which is what SMTP carries anyway).
import { Transform, type TransformCallback } from 'node:stream';
import { Joiner, Splitter } from '@zone-eu/mailsplit';
import { decodeEncodedWords } from '../util/encodedWords.ts';
import type { HeaderField, MessageEvidence } from './types.ts';

/** Most bytes of a message/delivery-status part we read for its Action fields. */
const MAX_STATUS_BYTES = 64 * 1024;
/** Most header fields we keep as evidence; a header bomb is cut off, not stored. */
const MAX_FIELDS = 1_000;

export interface InspectOptions {
  mailFrom: string;
  /** Top-level header names to remove (lower-case). */
  stripHeaders: readonly string[];
  /** Largest header block of any MIME part, in bytes (mailsplit's maxHeadSize). */
  maxHeaderBytes: number;
}

export interface MessageInspection {
  /** Write the raw message here. */
  input: Transform;
  /** Read the (possibly edited) message from here. */
  output: Transform;
  /** Filled in while the message streams; complete when `output` has ended. */
  evidence: MessageEvidence;
  /** Header names that were actually removed (with their counts). */
  stripped: string[];
}

interface SplitNode {
  type: 'node';
  root: boolean;
  contentType: string | false;
  headers: {
    getList(): { key: string; line: string }[];
    getFirst(key: string): string;
    hasHeader(key: string): boolean;
    remove(key: string): void;
  };
}

interface BodyChunk {
  type: 'body' | 'data';
  node?: SplitNode;
  value?: Buffer;
}

export function inspectMessage(opts: InspectOptions): MessageInspection {
  const evidence: MessageEvidence = {
    headers: [],
    mailFrom: opts.mailFrom,
    reportType: '',
    dsnActions: [],
    hasDispositionNotification: false,
  };
  const stripped: string[] = [];
  let statusNode: SplitNode | undefined;
  let statusText = '';
  // mailsplit's typings narrow the stream events; plain Transforms are all we use.
  const input = new Splitter({ maxHeadSize: opts.maxHeaderBytes }) as unknown as Transform;
  const output = new Joiner() as unknown as Transform;

  const inspector = new Transform({
    objectMode: true,
    transform(chunk: SplitNode | BodyChunk | Buffer, _enc: BufferEncoding, cb: TransformCallback) {
      try {
        if (!Buffer.isBuffer(chunk) && chunk.type === 'node') onNode(chunk);
        else if (!Buffer.isBuffer(chunk) && chunk.type === 'body' && statusNode && chunk.node === statusNode && chunk.value) {
          if (statusText.length < MAX_STATUS_BYTES) statusText += chunk.value.toString('latin1').slice(0, MAX_STATUS_BYTES);
        }
      } catch {
        // Evidence is best effort: a header libmime cannot decode must not stop the
        // message; it is then classified on what was read.
      }
      cb(null, chunk);
    },
    flush(cb: TransformCallback) {
      if (statusText) {
        for (const m of statusText.matchAll(/^action[ \t]*:[ \t]*([a-z-]+)/gim)) evidence.dsnActions.push(m[1]!.toLowerCase());
      }
      cb();
    },
  });

  function onNode(node: SplitNode): void {
    const type = node.contentType || '';
    if (node.root) {
      for (const name of opts.stripHeaders) {
        if (node.headers.hasHeader(name)) {
          node.headers.remove(name);
          stripped.push(name);
        }
      }
      evidence.headers = fieldsOf(node);
      if (type === 'multipart/report') {
        const m = /report-type\s*=\s*"?([a-z0-9-]+)/i.exec(node.headers.getFirst('content-type'));
        evidence.reportType = m?.[1]?.toLowerCase() ?? '';
      }
      return;
    }
    if (type === 'message/delivery-status' || type === 'message/global-delivery-status') statusNode ??= node;
    if (type === 'message/disposition-notification' || type === 'message/global-disposition-notification') {
      evidence.hasDispositionNotification = true;
    }
  }

  input.pipe(inspector).pipe(output);
  // pipe() does not forward errors: surface a splitter error (header too large) on output.
  input.on('error', (err: Error) => output.destroy(err));
  inspector.on('error', (err) => output.destroy(err));
  return { input, output, evidence, stripped };
}

/** Top-level fields with unfolded values; the Subject decoded from RFC 2047 words. */
function fieldsOf(node: SplitNode): HeaderField[] {
  const fields: HeaderField[] = [];
  for (const { key, line } of node.headers.getList().slice(0, MAX_FIELDS)) {
    const colon = line.indexOf(':');
    const raw = colon >= 0 ? line.slice(colon + 1) : '';
    fields.push({ name: key, value: unfold(raw) });
  }
  const subject = fields.find((f) => f.name === 'subject');
  if (subject) subject.value = decodeEncodedWords(subject.value);
  return fields;
}

/** Unfolds a header value and reads 8-bit bytes as UTF-8 when they are valid UTF-8. */
export function unfold(raw: string): string {
  const bytes = Buffer.from(raw, 'latin1');
  const utf8 = bytes.toString('utf8');
  const text = utf8.includes('\uFFFD') ? raw : utf8;
  return text.replace(/\r?\n(?=[ \t])/g, '').trim();
}

/** Runs a whole message (a file read, a test fixture) through the inspector. */
export async function inspectBuffer(
  raw: Buffer,
  opts: InspectOptions,
): Promise<{ evidence: MessageEvidence; stripped: string[]; output: Buffer }> {
  const insp = inspectMessage(opts);
  const chunks: Buffer[] = [];
  const done = new Promise<void>((resolve, reject) => {
    insp.output.on('data', (c: Buffer) => chunks.push(c));
    insp.output.on('end', resolve);
    insp.output.on('error', reject);
  });
  insp.input.end(raw);
  await done;
  return { evidence: insp.evidence, stripped: insp.stripped, output: Buffer.concat(chunks) };
}
