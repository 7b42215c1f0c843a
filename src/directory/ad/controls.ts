// AD's request controls as small ldapts Control subclasses. ldapts parses a response
// control whose OID matches a request control back into that same object, so the
// DirSync cookie the server answers with is read from the control we sent.
import { Ber, type BerReader, BerWriter, Control } from 'ldapts';

/** DirSync flags (MS-ADTS 3.1.1.3.4.1.3). */
export const DIRSYNC_FLAGS = {
  /** Return only what the caller may read; lets an account without "Replicating Directory Changes All" use DirSync. */
  OBJECT_SECURITY: 0x1,
  /** Parents before children. */
  ANCESTORS_FIRST_ORDER: 0x800,
  PUBLIC_DATA_ONLY: 0x2000,
  /** Report changes to multi-valued attributes (member) value by value. */
  INCREMENTAL_VALUES: 0x80000000,
} as const;

export interface DirSyncRequest {
  flags: number;
  /** Upper bound of the response size in bytes (0 = server default). */
  maxBytes: number;
  /** Empty for the first, full search. */
  cookie: Buffer;
}

export interface DirSyncResponse {
  /** Non-zero: search again with `cookie` right away, more changes are waiting. */
  moreResults: boolean;
  cookie: Buffer;
}

export class DirSyncControl extends Control {
  static readonly type = '1.2.840.113556.1.4.841';
  request: DirSyncRequest;
  /** Set when the server's SearchResultDone carried the control. */
  response: DirSyncResponse | undefined;

  constructor(request: Partial<DirSyncRequest> = {}) {
    // AD requires DirSync to be critical.
    super(DirSyncControl.type, { critical: true });
    this.request = { flags: request.flags ?? 0, maxBytes: request.maxBytes ?? 0, cookie: request.cookie ?? Buffer.alloc(0) };
    this.response = undefined;
  }

  protected override writeControl(writer: BerWriter): void {
    const w = new BerWriter();
    w.startSequence();
    // Flags is an INTEGER; INCREMENTAL_VALUES is its sign bit, so write it as int32.
    w.writeInt(this.request.flags | 0);
    w.writeInt(this.request.maxBytes);
    w.writeBuffer(this.request.cookie, Ber.OctetString);
    w.endSequence();
    writer.writeBuffer(w.buffer, Ber.OctetString);
  }

  protected override parseControl(reader: BerReader): void {
    if (reader.readSequence() === null) return;
    const more = reader.readInt() ?? 0;
    reader.readInt(); // unused (MS-ADTS: "the server MUST set it to zero")
    const cookie = reader.readString(Ber.OctetString, true) ?? Buffer.alloc(0);
    this.response = { moreResults: more !== 0, cookie };
  }
}

/** Show Deleted (1.2.840.113556.1.4.417): tombstones become visible to a search. No value. */
export class ShowDeletedControl extends Control {
  static readonly type = '1.2.840.113556.1.4.417';
  constructor() {
    super(ShowDeletedControl.type, { critical: true });
  }
}
