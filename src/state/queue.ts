// The job queue of a PostgreSQL state store: pg-boss 10 (the last release for Node 20,
// STACK.md) in its own schema `pgboss` of the same database, so every host that reaches the
// state reaches the queue. Only dispatch lives here: who may work a mailbox, and how many
// mailboxes a server takes at once, are lease rows of the state store (leases in store.ts),
// which the database enforces whatever the queue delivers.
//
// Queues use pg-boss's `short` policy: at most one job waiting per key, so anyone may send
// "work mailbox 12" again (a chain's next step, a reaper after a crash) without piling up.
// Jobs never retry on their own and expire only after 23 hours: a worker that died is found by
// its expired lease (the reaper in src/migration/distributed.ts), not by the job's timer,
// which pg-boss cannot renew.
import PgBoss from 'pg-boss';
import { StateError } from '../util/errors.ts';

export interface QueueJob<T> {
  id: string;
  data: T;
}

export interface SendOptions {
  /** One waiting job per key and queue. */
  key: string;
  /** Higher first. */
  priority?: number;
  startAfterSeconds?: number;
}

export interface JobQueue {
  /** Returns the job id, or null when a job with the same key is already waiting. */
  send(queue: string, data: object, opts: SendOptions): Promise<string | null>;
  /** Takes jobs one at a time on each of `concurrency` lanes until stop(). */
  work<T>(queue: string, concurrency: number, handler: (job: QueueJob<T>) => Promise<void>): Promise<void>;
  /** Stops taking jobs and waits (up to graceSeconds) for the running handlers. */
  stop(graceSeconds?: number): Promise<void>;
}

// pg-boss's ceiling (24 h). A step longer than that is marked failed in pg-boss's books but
// goes on: the handler is not cancelled, and the next step is queued by our code, not pg-boss.
const EXPIRE_SECONDS = 23 * 3600;

/** `connectionString` holds the password (postgres.ts withPassword): never logged; `where` is shown. */
export async function openJobQueue(connectionString: string, where: string, onError: (err: Error) => void = () => {}): Promise<JobQueue> {
  const boss = new PgBoss({ connectionString, max: 4, schema: 'pgboss', application_name: 'crossforest-queue' });
  // pg-boss reports background errors (a lost connection) as events; unhandled they would
  // crash the worker, and the leases already decide what happens to its mailboxes.
  boss.on('error', onError);
  try {
    await boss.start();
  } catch (err) {
    throw new StateError(`cannot start the job queue on ${where}: ${(err as Error).message}`, {
      object: where,
      hint: 'the state database must be reachable and its user allowed to create the schema pgboss (once)',
      cause: err,
    });
  }
  const created = new Set<string>();
  const ensure = async (queue: string): Promise<void> => {
    if (created.has(queue)) return;
    await boss.createQueue(queue, { name: queue, policy: 'short', retryLimit: 0, expireInSeconds: EXPIRE_SECONDS });
    created.add(queue);
  };
  return {
    async send(queue, data, opts) {
      await ensure(queue);
      return boss.send(queue, data, {
        singletonKey: opts.key,
        priority: opts.priority ?? 0,
        ...(opts.startAfterSeconds ? { startAfter: opts.startAfterSeconds } : {}),
      });
    },
    async work(queue, concurrency, handler) {
      await ensure(queue);
      for (let i = 0; i < concurrency; i++)
        await boss.work(queue, { batchSize: 1, pollingIntervalSeconds: 1 }, async (jobs) => {
          for (const j of jobs) await handler({ id: j.id, data: j.data as never });
        });
    },
    async stop(graceSeconds = 30) {
      await boss.stop({ graceful: true, wait: true, timeout: graceSeconds * 1000 });
    },
  };
}
