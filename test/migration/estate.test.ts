// The estate simulation (src/migration/estate.ts): packing into windows, the server, site
// and worker limits, the too-large mailboxes, and the generated 30,000-mailbox estate.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Estate, generateEstate, planEstate, SEED_ESTATE } from '../../src/migration/estate.ts';

const rates = { streamBytesPerSecond: 1, streamMessagesPerSecond: 1e9, overheadSeconds: 0 };
const opts = { windowSeconds: 100, windowsPerDay: 4, goalPerWindow: 3 };

function estate(sizes: number[], servers = [{ name: 's1', site: 'x', maxConcurrentMailboxes: 2, maxBytesPerSecond: Infinity }]): Estate {
  return {
    servers,
    siteBytesPerSecond: {},
    mailboxes: sizes.map((bytes, i) => ({ login: `u${i}`, server: servers[i % servers.length]!.name, site: 'x', bytes, messages: 1 })),
  };
}

describe('estate plan', () => {
  it('packs largest first into the earliest window with room and names the servers that bound it', () => {
    const p = planEstate(estate([40, 100, 50, 60, 50]), rates, opts);
    assert.equal(p.windows, 2);
    assert.deepEqual(
      p.windowSummaries.map((w) => [w.mailboxes, w.bytes, w.boundingServers]),
      [
        [3, 200, ['s1']],
        [2, 100, []],
      ],
    );
    assert.deepEqual(p.perWindow, { mean: 3, min: 2, max: 3 });
    assert.equal(p.goal.fits, false, 'a mean of 2.5 misses 3 a window');
  });

  it('reports a mailbox no window can hold instead of scheduling it', () => {
    const p = planEstate(estate([150, 10]), rates, opts);
    assert.deepEqual(p.tooLarge, [{ login: 'u0', server: 's1', seconds: 150 }]);
    assert.equal(p.windows, 1);
    assert.equal(p.goal.fits, false);
  });

  it('shares a server’s ceiling among its lanes, and a site’s link among its servers', () => {
    const capped = estate([50, 50], [{ name: 's1', site: 'x', maxConcurrentMailboxes: 2, maxBytesPerSecond: 1 }]);
    assert.equal(planEstate(capped, rates, opts).laneBytesPerSecond.s1, 1, 'rounded: 0.5 B/s per lane');
    const p = planEstate(capped, { ...rates, streamBytesPerSecond: 10 }, opts);
    assert.equal(p.windows, 1, 'two 50-byte mailboxes at 0.5 B/s each fill one 100 s window');
    const two = {
      ...estate(
        [10, 10],
        [
          { name: 's1', site: 'x', maxConcurrentMailboxes: 2, maxBytesPerSecond: Infinity },
          { name: 's2', site: 'x', maxConcurrentMailboxes: 2, maxBytesPerSecond: Infinity },
        ],
      ),
      siteBytesPerSecond: { x: 8 },
    };
    assert.deepEqual(planEstate(two, { ...rates, streamBytesPerSecond: 10 }, opts).laneBytesPerSecond, { s1: 2, s2: 2 });
  });

  it('shrinks every server’s lanes when the worker hosts run fewer mailboxes at once', () => {
    const e = estate([60, 60, 60, 60]);
    assert.equal(planEstate(e, rates, opts).windows, 2);
    assert.equal(planEstate(e, rates, { ...opts, workers: 1 }).windows, 4);
  });

  it('generates the seed’s estate the same way every time, every site with a server', () => {
    const a = generateEstate({ ...SEED_ESTATE, mailboxes: 2_000 });
    const b = generateEstate({ ...SEED_ESTATE, mailboxes: 2_000 });
    assert.deepEqual(a, b);
    assert.equal(a.servers.length, 100);
    assert.equal(new Set(a.servers.map((s) => s.site)).size, 30);
    assert.ok(a.mailboxes.every((m) => m.bytes <= SEED_ESTATE.maxBytes && m.messages >= 1));
    const sorted = a.mailboxes.map((m) => m.bytes).sort((x, y) => x - y);
    const median = sorted[sorted.length >> 1]!;
    assert.ok(median > SEED_ESTATE.medianBytes * 0.8 && median < SEED_ESTATE.medianBytes * 1.25, `median ${median}`);
  });

  it('plans 30,000 mailboxes on 100 servers at the measured rates', () => {
    const e = generateEstate(SEED_ESTATE);
    const p = planEstate(
      e,
      { streamBytesPerSecond: 30 * 2 ** 20, streamMessagesPerSecond: 1_000, overheadSeconds: 20 },
      {
        windowSeconds: 6 * 3600,
        windowsPerDay: 4,
        goalPerWindow: 600,
      },
    );
    assert.equal(p.mailboxes, 30_000);
    const scheduled = p.windowSummaries.reduce((a, w) => a + w.mailboxes, 0);
    assert.equal(scheduled + p.tooLarge.length, 30_000, 'every mailbox is scheduled or reported');
    assert.ok(p.windows > 0 && p.windowSummaries[0]!.boundingServers.length > 0);
  });
});
