// Relay listeners for the tests: one on loopback in front of a given next-hop port, and a
// wait for the outcome of a message (what the relay decided and answered).
import type { RelayLimits } from '../../src/config/transport.ts';
import { relayListenerSchema } from '../../src/config/transport.ts';
import type { PolicyTable } from '../../src/transport/policy.ts';
import { type RelayListenerHandle, type RelayOutcome, startRelayListener } from '../../src/transport/relayListener.ts';
import { silentLogger } from '../../src/util/logger.ts';

/** A plain (no TLS) listener on 127.0.0.1:`port` (0: any free port) forwarding to 127.0.0.1:`hopPort`. */
export function loopbackListener(
  name: string,
  direction: 'inbound' | 'outbound',
  hopPort: number,
  setup: { table: PolicyTable; limits: RelayLimits; port?: number },
): Promise<RelayListenerHandle> {
  return startRelayListener({
    listener: relayListenerSchema.parse({
      name,
      direction,
      listen: { host: '127.0.0.1', port: setup.port ?? 0 },
      nextHop: { host: '127.0.0.1', port: hopPort },
    }),
    limits: setup.limits,
    table: setup.table,
    hostname: 'relay.test',
    baseDir: process.cwd(),
    logger: silentLogger,
  });
}

/** Polls `outcomes` (filled from listeners' `message` events) for the message with this Message-ID (`<…>`). */
export async function waitForOutcome(outcomes: readonly RelayOutcome[], messageId: string, timeoutMs = 20_000): Promise<RelayOutcome> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const hit = outcomes.find((o) => o.messageId === messageId);
    if (hit) return hit;
    if (Date.now() > end) throw new Error(`the relay saw no message ${messageId}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
