// Policy relay throughput: N messages of S bytes sent with C parallel SMTP connections
// straight to Postfix's smtp-sink (the peer: what the client and sink manage alone), then
// through the relay outbound (inspect + classify + forward), then inbound with a
// Disposition-Notification-To to strip (header rewrite path). Figures only, no asserts.
// Usage: node --import tsx bench/relay.ts [--messages 2000] [--size 20000] [--connections 8] [--json]
import { spawn } from 'node:child_process';
import { parseArgs } from 'node:util';
import nodemailer from 'nodemailer';
import { portOpen, waitFor } from '../lab/process.ts';
import { relayLimitsSchema, relayListenerSchema } from '../src/config/transport.ts';
import { policyTable } from '../src/transport/policy.ts';
import { startRelayListener } from '../src/transport/relayListener.ts';
import { silentLogger } from '../src/util/logger.ts';

const { values: args } = parseArgs({
  options: {
    messages: { type: 'string', default: '2000' },
    size: { type: 'string', default: '20000' },
    connections: { type: 'string', default: '8' },
    json: { type: 'boolean', default: false },
  },
});
const messages = Number(args.messages);
const size = Number(args.size);
const connections = Number(args.connections);
const SINK_PORT = 12599;
const say = (line: string) => process.stderr.write(`${line}\n`);

function message(i: number, extra: string): string {
  const head = `Message-ID: <bench-${i}-${Date.now()}@forest-a.test>\r\nFrom: a@forest-a.test\r\nTo: b@internet.test\r\nSubject: bench ${i}\r\n${extra}MIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\n`;
  const line = `${'x'.repeat(76)}\r\n`;
  return head + line.repeat(Math.max(1, Math.ceil((size - head.length) / line.length)));
}

async function run(port: number, extra: string): Promise<{ seconds: number; perSecond: number; mbPerSecond: number }> {
  const t = nodemailer.createTransport({
    host: '127.0.0.1',
    port,
    pool: true,
    maxConnections: connections,
    maxMessages: Number.POSITIVE_INFINITY,
    ignoreTLS: true,
  });
  const started = performance.now();
  let next = 0;
  let bytes = 0;
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= messages) return;
      const raw = message(i, extra);
      bytes += raw.length;
      await t.sendMail({ envelope: { from: 'a@forest-a.test', to: ['b@internet.test'] }, raw });
    }
  };
  await Promise.all(Array.from({ length: connections }, worker));
  const seconds = (performance.now() - started) / 1000;
  t.close();
  return { seconds, perSecond: messages / seconds, mbPerSecond: bytes / 1e6 / seconds };
}

// smtp-sink: Postfix's test server, accepts and discards (backlog 256; -u: it refuses to run as root).
const sink = spawn('smtp-sink', ['-u', 'postfix', `127.0.0.1:${SINK_PORT}`, '256'], { stdio: 'ignore' });
try {
  if ((await waitFor(async () => ((await portOpen('127.0.0.1', SINK_PORT)) ? true : null), 5_000)) === null)
    throw new Error('smtp-sink did not start');
  const limits = relayLimitsSchema.parse({ maxConnections: connections * 2 });
  const table = policyTable(undefined, ['forest-a.test']);
  const listener = (name: string, direction: 'inbound' | 'outbound') =>
    startRelayListener({
      listener: relayListenerSchema.parse({ name, direction, listen: { port: 0 }, nextHop: { host: '127.0.0.1', port: SINK_PORT } }),
      limits,
      table,
      hostname: 'bench.invalid',
      baseDir: process.cwd(),
      logger: silentLogger,
    });
  const out = await listener('bench-out', 'outbound');
  const inb = await listener('bench-in', 'inbound');
  say(`${messages} messages × ${size} bytes, ${connections} connections`);
  await run(SINK_PORT, ''); // warm-up of the client and sink
  const direct = await run(SINK_PORT, '');
  say(`direct to smtp-sink: ${direct.perSecond.toFixed(0)} msg/s`);
  const viaOut = await run(out.port, '');
  say(`via relay outbound: ${viaOut.perSecond.toFixed(0)} msg/s`);
  const viaIn = await run(inb.port, 'Disposition-Notification-To: a@forest-a.test\r\n');
  say(`via relay inbound (strip): ${viaIn.perSecond.toFixed(0)} msg/s`);
  await out.close();
  await inb.close();
  const rows = [
    { path: 'client → smtp-sink (peer)', ...direct, ratio: 1 },
    { path: 'client → relay outbound → smtp-sink', ...viaOut, ratio: viaOut.perSecond / direct.perSecond },
    { path: 'client → relay inbound (strip) → smtp-sink', ...viaIn, ratio: viaIn.perSecond / direct.perSecond },
  ];
  if (args.json) process.stdout.write(`${JSON.stringify({ messages, size, connections, rows }, null, 2)}\n`);
  else {
    for (const r of rows) {
      process.stdout.write(
        `${r.path.padEnd(46)} ${r.perSecond.toFixed(0).padStart(6)} msg/s ${r.mbPerSecond.toFixed(1).padStart(7)} MB/s  ×${r.ratio.toFixed(2)} of the peer\n`,
      );
    }
  }
} finally {
  sink.kill('SIGTERM');
}
