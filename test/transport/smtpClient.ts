// A raw SMTP client for robustness tests: writes exactly the bytes it is given (so it
// can pipeline, dribble, or send garbage) and reads whole replies.
import { connect, type Socket } from 'node:net';

export interface RawSmtp {
  socket: Socket;
  /** Next complete reply (multi-line joined with \n), or null when the server closed. */
  reply(timeoutMs?: number): Promise<string | null>;
  write(data: string | Buffer): Promise<void>;
  /** Writes `data` and returns the next reply. */
  command(data: string, timeoutMs?: number): Promise<string | null>;
  closed(): Promise<void>;
  end(): void;
}

/** `localAddress`: the client's own address (any of 127.0.0.0/8 on Linux), to test address rules. */
export async function rawSmtp(port: number, opts: { localAddress?: string } = {}): Promise<RawSmtp> {
  const socket = connect({ host: '127.0.0.1', port, localAddress: opts.localAddress });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  let buf = '';
  let ended = false;
  const waiters: (() => void)[] = [];
  const wake = () => {
    for (const w of waiters.splice(0)) w();
  };
  socket.on('data', (c: Buffer) => {
    buf += c.toString('utf8');
    wake();
  });
  socket.on('close', () => {
    ended = true;
    wake();
  });
  socket.on('error', () => undefined);
  const closedP = new Promise<void>((resolve) => socket.once('close', () => resolve()));

  function takeReply(): string | null {
    const lines: string[] = [];
    let rest = buf;
    for (;;) {
      const nl = rest.indexOf('\n');
      if (nl < 0) return null;
      const line = rest.slice(0, nl).replace(/\r$/, '');
      rest = rest.slice(nl + 1);
      lines.push(line);
      if (/^\d{3} /.test(line) || !/^\d{3}-/.test(line)) {
        buf = rest;
        return lines.join('\n');
      }
    }
  }

  const client: RawSmtp = {
    socket,
    async reply(timeoutMs = 15_000) {
      const end = Date.now() + timeoutMs;
      for (;;) {
        const r = takeReply();
        if (r !== null) return r;
        if (ended) return null;
        if (Date.now() > end) throw new Error(`no SMTP reply within ${timeoutMs} ms; have ${JSON.stringify(buf.slice(0, 200))}`);
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, 100);
          waiters.push(() => {
            clearTimeout(t);
            resolve();
          });
        });
      }
    },
    write: (data) => new Promise((resolve) => socket.write(data, () => resolve())),
    async command(data, timeoutMs) {
      await client.write(data);
      return client.reply(timeoutMs);
    },
    closed: () => closedP,
    end: () => socket.destroy(),
  };
  return client;
}
