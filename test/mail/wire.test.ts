// The raw IMAP pipe (src/mail/wire.ts) on real loopback sockets: a peer that hangs up
// while a write waits for 'drain', or before the hand-over, must fail the waiting call
// (a retry follows) instead of leaving a promise nothing settles — which ends the
// process's event loop in the middle of a copy.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, createServer, type Socket } from 'node:net';
import { describe, it } from 'node:test';
import type { ImapFlow } from 'imapflow';
import { unbindWire, WireClosedError } from '../../src/mail/wire.ts';

async function socketPair(): Promise<{ client: Socket; server: Socket; close: () => void }> {
  const srv = createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const { port } = srv.address() as { port: number };
  const accepted = once(srv, 'connection');
  const client = connect(port, '127.0.0.1');
  await once(client, 'connect');
  const [server] = (await accepted) as [Socket];
  return {
    client,
    server,
    close: () => {
      client.destroy();
      server.destroy();
      srv.close();
    },
  };
}

/** What unbindWire needs of a logged-in ImapFlow: its capabilities and its socket. */
/** A promise that nothing settles fails here in 5 s instead of hanging the run. */
function within<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: still pending after 5 s`)), 5000);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

const loggedIn = (sock: Socket): ImapFlow =>
  ({ capabilities: new Map(), enabled: new Set(), unbind: () => ({ readSocket: sock, writeSocket: sock }) }) as unknown as ImapFlow;

describe('raw IMAP wire', () => {
  it('a write waiting for drain fails when the peer hangs up', { timeout: 15_000 }, async () => {
    const { client, server, close } = await socketPair();
    server.pause(); // the peer reads nothing: the client's buffers fill
    const wire = unbindWire(loggedIn(client), '127.0.0.1:test', 30_000);
    const chunk = Buffer.alloc(1 << 20, 120);
    let pending: Promise<void> | undefined;
    for (let i = 0; i < 256 && !pending; i++) {
      const w = wire.write(chunk);
      // A write that has not settled on the next turn is waiting for 'drain'.
      const settled = await Promise.race([w.then(() => true), new Promise((r) => setImmediate(() => r(false)))]);
      if (!settled) pending = w;
    }
    assert.ok(pending, 'the socket buffers filled up');
    server.destroy();
    try {
      await assert.rejects(within(pending, 'the waiting write'), WireClosedError);
      await assert.rejects(within(wire.write('X1 NOOP\r\n'), 'a later write'), WireClosedError);
      await assert.rejects(within(wire.readLine(), 'a read'), WireClosedError);
    } finally {
      close();
    }
  });

  it('a socket the server closed before the hand-over fails the first read', { timeout: 15_000 }, async () => {
    const { client, server, close } = await socketPair();
    server.end();
    await once(client, 'end');
    const wire = unbindWire(loggedIn(client), '127.0.0.1:test', 30_000);
    try {
      await assert.rejects(within(wire.readLine(), 'the first read'), WireClosedError);
    } finally {
      close();
    }
  });
});
