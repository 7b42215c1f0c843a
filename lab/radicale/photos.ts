// Tiny generated contact photos (a few hundred bytes) for the lab's vCards: identicons
// drawn from a person's hash, as a PNG (vCard 4.0 `PHOTO:data:image/png;base64,…`)
// and as a baseline JPEG (vCard 3.0 `PHOTO;ENCODING=b;TYPE=JPEG:…`). Both are written
// by hand: the PNG as zlib-deflated RGB rows with CRC-32 chunks, the JPEG as 8×8
// blocks of one colour each, so every block is a DC coefficient and an end-of-block.
import { createHash } from 'node:crypto';
import { deflateSync } from 'node:zlib';

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

export function crc32(buf: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of buf) c = (CRC_TABLE[(c ^ b) & 0xff] as number) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

type Rgb = [number, number, number];

/** A 5×5 left-right mirrored pattern and a foreground colour from the hash of `key`. */
function identicon(key: string): { cells: boolean[][]; fg: Rgb } {
  const h = createHash('sha256').update(`photo\u0000${key}`).digest();
  const cells: boolean[][] = [];
  for (let y = 0; y < 5; y++) {
    const row: boolean[] = [];
    for (let x = 0; x < 5; x++) {
      const col = x < 3 ? x : 4 - x;
      row.push((((h[y] as number) >> col) & 1) === 1);
    }
    cells.push(row);
  }
  const fg: Rgb = [40 + ((h[5] as number) % 160), 40 + ((h[6] as number) % 160), 40 + ((h[7] as number) % 160)];
  return { cells, fg };
}

const BACKGROUND: Rgb = [240, 240, 240];

function pngChunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}

/** A 24×24 RGB PNG identicon (5×5 cells of 4 pixels, 2-pixel margin). */
export function photoPng(key: string): Buffer {
  const { cells, fg } = identicon(key);
  const scale = 4;
  const margin = 2;
  const side = 5 * scale + 2 * margin;
  const raw = Buffer.alloc(side * (1 + side * 3));
  for (let y = 0; y < side; y++) {
    const rowStart = y * (1 + side * 3);
    raw[rowStart] = 0; // filter: none
    for (let x = 0; x < side; x++) {
      const cy = Math.floor((y - margin) / scale);
      const cx = Math.floor((x - margin) / scale);
      const on = cy >= 0 && cy < 5 && cx >= 0 && cx < 5 && cells[cy]?.[cx] === true;
      const c = on ? fg : BACKGROUND;
      raw.set(c, rowStart + 1 + x * 3);
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(side, 0);
  ihdr.writeUInt32BE(side, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // colour type: RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', deflateSync(raw, { level: 9 })),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

function ycbcr([r, g, b]: Rgb): Rgb {
  const y = 0.299 * r + 0.587 * g + 0.114 * b;
  const clamp = (v: number) => Math.max(0, Math.min(255, Math.round(v)));
  return [clamp(y), clamp(128 + (b - y) * 0.564), clamp(128 + (r - y) * 0.713)];
}

function segment(marker: number, body: number[]): number[] {
  const len = body.length + 2;
  return [0xff, marker, len >> 8, len & 0xff, ...body];
}

// The standard luminance DC table (ITU T.81 K.3): code lengths and symbols (categories 0-11).
const DC_BITS = [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0];
const DC_VALUES = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
// The AC table holds one symbol, end-of-block (0x00), with the one-bit code `0`.
const AC_BITS = [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];

/** Canonical Huffman codes (T.81 C.2) of the DC table: category → [code, length]. */
const DC_CODES: [number, number][] = (() => {
  const out: [number, number][] = [];
  let code = 0;
  let k = 0;
  for (let len = 1; len <= 16; len++) {
    for (let i = 0; i < (DC_BITS[len - 1] as number); i++) out[DC_VALUES[k++] as number] = [code++, len];
    code <<= 1;
  }
  return out;
})();

class BitWriter {
  readonly bytes: number[] = [];
  #acc = 0;
  #n = 0;
  put(value: number, length: number): void {
    for (let i = length - 1; i >= 0; i--) {
      this.#acc = (this.#acc << 1) | ((value >> i) & 1);
      if (++this.#n === 8) this.#flush();
    }
  }
  #flush(): void {
    this.bytes.push(this.#acc);
    if (this.#acc === 0xff) this.bytes.push(0x00); // byte stuffing
    this.#acc = 0;
    this.#n = 0;
  }
  /** Pads the last byte with 1-bits (T.81 F.1.2.3). */
  end(): number[] {
    while (this.#n !== 0) this.put(1, 1);
    return this.bytes;
  }
}

/** A 24×24 baseline JPEG (YCbCr 4:4:4) identicon: 3×3 blocks of 8×8 pixels, one colour each. */
export function photoJpeg(key: string): Buffer {
  const { cells, fg } = identicon(key);
  const on = ycbcr(fg);
  const off = ycbcr(BACKGROUND);
  const side = 24;
  const bits = new BitWriter();
  const prev = [0, 0, 0];
  for (let by = 0; by < 3; by++) {
    for (let bx = 0; bx < 3; bx++) {
      // The 3×3 block picture takes the centre of the 5×5 pattern.
      const colour = cells[by + 1]?.[bx + 1] ? on : off;
      for (let c = 0; c < 3; c++) {
        // A flat block's DC coefficient is 8·(v-128); with quantizer 8 it is v-128.
        const dc = (colour[c] as number) - 128;
        const diff = dc - (prev[c] as number);
        prev[c] = dc;
        const mag = Math.abs(diff);
        const cat = mag === 0 ? 0 : Math.floor(Math.log2(mag)) + 1;
        const [code, len] = DC_CODES[cat] as [number, number];
        bits.put(code, len);
        if (cat > 0) bits.put(diff < 0 ? diff + (1 << cat) - 1 : diff, cat);
        bits.put(0, 1); // end of block
      }
    }
  }
  const bytes = [
    0xff,
    0xd8,
    ...segment(0xe0, [0x4a, 0x46, 0x49, 0x46, 0x00, 1, 1, 0, 0, 1, 0, 1, 0, 0]), // JFIF 1.1, aspect 1:1
    ...segment(0xdb, [0x00, ...new Array<number>(64).fill(8)]),
    ...segment(0xc0, [8, 0, side, 0, side, 3, 1, 0x11, 0, 2, 0x11, 0, 3, 0x11, 0]),
    ...segment(0xc4, [0x00, ...DC_BITS, ...DC_VALUES, 0x10, ...AC_BITS, 0x00]),
    ...segment(0xda, [3, 1, 0x00, 2, 0x00, 3, 0x00, 0, 63, 0]),
    ...bits.end(),
    0xff,
    0xd9,
  ];
  return Buffer.from(bytes);
}
