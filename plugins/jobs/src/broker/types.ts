/**
 * The broker: named queues of small JSON messages, consumed with leases. In-process workers and external
 * workers (over HTTP) use the same calls, so a job is run the same way wherever its worker lives.
 *
 * Rules (checked by `brokerContract` in `src/testing/broker-contract.ts` against every implementation):
 * - `enqueue` with an `id` already present (waiting, delayed, active, or finished less than `dedupMs` ago) adds
 *   nothing and answers `created: false`: this is how several processes schedule the same trigger firing once.
 * - A message becomes claimable `delayMs` after it was queued; waiting messages are claimed oldest first.
 * - `claim` hands a message to one claimer only, with a lease of `leaseMs` and a fresh token; `attempt` counts the
 *   claims of that message so far, this one included (a claim whose lease lapsed counts).
 * - A lease that is neither extended nor ended within `leaseMs` lapses: the message becomes claimable again
 *   (within `leaseMs` more) and the old token stops working.
 * - `extend`, `complete` and `fail` answer false / 'lost' for a wrong or lapsed token and change nothing.
 * - `fail` retries (the message is claimable again after `retryDelayMs`) unless `final` is set.
 * - `close` stops every pending `claim` (they resolve null) and is idempotent.
 */
export interface EnqueueOptions {
  id?: string;
  delayMs?: number;
}

export interface Lease<P = unknown> {
  readonly queue: string;
  readonly id: string;
  readonly payload: P;
  readonly token: string;
  readonly attempt: number;
  /** When the lease lapses, in ms since the epoch. */
  readonly expiresAt: number;
}

export interface QueueCounts {
  waiting: number;
  delayed: number;
  active: number;
}

export interface Broker {
  readonly kind: 'memory' | 'redis';
  /** Lease length of every claim, and what `extend` renews by default. */
  readonly leaseMs: number;
  enqueue(queue: string, payload: unknown, opts?: EnqueueOptions): Promise<{ id: string; created: boolean }>;
  /** The next claimable message, waiting about `waitMs` (default 0; a broker may wait up to a second longer) for one; null when none came. */
  claim<P = unknown>(queue: string, opts?: { waitMs?: number }): Promise<Lease<P> | null>;
  /** New expiry in ms since the epoch, or null when the lease was lost. */
  extend(queue: string, id: string, token: string, leaseMs?: number): Promise<number | null>;
  complete(queue: string, id: string, token: string): Promise<boolean>;
  fail(queue: string, id: string, token: string, opts: { error: string; final?: boolean; retryDelayMs?: number }): Promise<'retry' | 'failed' | 'lost'>;
  /** Removes a message that is not active (waiting or delayed); false when absent or active. */
  remove(queue: string, id: string): Promise<boolean>;
  counts(queue: string): Promise<QueueCounts>;
  close(): Promise<void>;
}
