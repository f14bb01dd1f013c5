import { randomUUID } from 'node:crypto';
import type { Broker, EnqueueOptions, Lease, QueueCounts } from './types.ts';

interface Message {
  id: string;
  payload: unknown;
  readyAt: number;
  /** Bumped on every (re)queue, so stale entries left in the ready list or the heap are recognised and skipped. */
  seq: number;
  attempts: number;
  token?: string;
  leaseUntil?: number;
}

/** A min-heap of [readyAt, seq, id]: the delayed messages. */
class DelayHeap {
  readonly items: Array<[number, number, string]> = [];
  push(item: [number, number, string]): void {
    const a = this.items;
    a.push(item);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p][0] <= a[i][0]) break;
      [a[p], a[i]] = [a[i], a[p]];
      i = p;
    }
  }
  peek(): [number, number, string] | undefined {
    return this.items[0];
  }
  pop(): [number, number, string] | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && a[l][0] < a[m][0]) m = l;
        if (r < a.length && a[r][0] < a[m][0]) m = r;
        if (m === i) break;
        [a[m], a[i]] = [a[i], a[m]];
        i = m;
      }
    }
    return top;
  }
}

class MemoryQueue {
  readonly messages = new Map<string, Message>();
  /** Ready messages in claim order: [seq, id]; `head` avoids shifting a long array. */
  ready: Array<[number, string]> = [];
  head = 0;
  readonly delayed = new DelayHeap();
  readonly active = new Set<string>();
  /** Ids of finished messages, kept for deduplication until the time stored. */
  readonly finished = new Map<string, number>();
  readonly waiters = new Set<() => void>();
  timer?: NodeJS.Timeout;
  timerAt = Infinity;

  wake(): void {
    for (const w of [...this.waiters]) w();
  }
}

/**
 * The broker of a single process (the Pi): queues in memory, lost with the process (job documents stay in the
 * store and `POST /jobs/clean` settles them). Timers are unref'd so they never hold the process open.
 */
export class MemoryBroker implements Broker {
  readonly kind = 'memory' as const;
  readonly #queues = new Map<string, MemoryQueue>();
  #seq = 0;
  #closed = false;
  readonly #sweeper: NodeJS.Timeout;

  constructor(readonly leaseMs: number = 30_000, private readonly dedupMs: number = 3_600_000) {
    this.#sweeper = setInterval(() => this.#sweep(), Math.max(20, Math.min(1_000, Math.floor(leaseMs / 4))));
    this.#sweeper.unref();
  }

  #queue(name: string): MemoryQueue {
    let q = this.#queues.get(name);
    if (!q) this.#queues.set(name, (q = new MemoryQueue()));
    return q;
  }

  async enqueue(queue: string, payload: unknown, opts: EnqueueOptions = {}): Promise<{ id: string; created: boolean }> {
    this.#checkOpen();
    const q = this.#queue(queue);
    const id = opts.id ?? randomUUID();
    const now = Date.now();
    const doneUntil = q.finished.get(id);
    if (q.messages.has(id) || (doneUntil !== undefined && doneUntil > now)) return { id, created: false };
    q.finished.delete(id);
    // A deep copy, as a message through Redis would be: the caller may change its object afterwards.
    const m: Message = { id, payload: structuredClone(payload), readyAt: now + Math.max(0, opts.delayMs ?? 0), seq: 0, attempts: 0 };
    q.messages.set(id, m);
    this.#schedule(q, m);
    return { id, created: true };
  }

  #schedule(q: MemoryQueue, m: Message): void {
    m.seq = ++this.#seq;
    m.token = undefined;
    m.leaseUntil = undefined;
    q.active.delete(m.id);
    if (m.readyAt <= Date.now()) {
      q.ready.push([m.seq, m.id]);
      q.wake();
    } else {
      q.delayed.push([m.readyAt, m.seq, m.id]);
      this.#armTimer(q);
    }
  }

  #armTimer(q: MemoryQueue): void {
    const next = q.delayed.peek();
    if (!next || next[0] >= q.timerAt) return;
    if (q.timer) clearTimeout(q.timer);
    q.timerAt = next[0];
    q.timer = setTimeout(() => {
      q.timer = undefined;
      q.timerAt = Infinity;
      this.#promote(q);
      q.wake();
      this.#armTimer(q);
    }, Math.max(0, next[0] - Date.now()));
    q.timer.unref();
  }

  #promote(q: MemoryQueue): void {
    const now = Date.now();
    for (let top = q.delayed.peek(); top && top[0] <= now; top = q.delayed.peek()) {
      q.delayed.pop();
      const m = q.messages.get(top[2]);
      if (m && m.seq === top[1] && m.token === undefined) q.ready.push([m.seq, m.id]);
    }
  }

  #tryClaim<P>(name: string, q: MemoryQueue): Lease<P> | null {
    this.#promote(q);
    while (q.head < q.ready.length) {
      const [seq, id] = q.ready[q.head++];
      const m = q.messages.get(id);
      if (!m || m.seq !== seq || m.token !== undefined) continue;
      if (q.head > 1024 && q.head * 2 > q.ready.length) {
        q.ready = q.ready.slice(q.head);
        q.head = 0;
      }
      m.attempts += 1;
      m.token = randomUUID();
      m.leaseUntil = Date.now() + this.leaseMs;
      q.active.add(id);
      return { queue: name, id, payload: structuredClone(m.payload) as P, token: m.token, attempt: m.attempts, expiresAt: m.leaseUntil };
    }
    return null;
  }

  async claim<P = unknown>(queue: string, opts: { waitMs?: number } = {}): Promise<Lease<P> | null> {
    const q = this.#queue(queue);
    const deadline = Date.now() + Math.max(0, opts.waitMs ?? 0);
    for (;;) {
      if (this.#closed) return null;
      const lease = this.#tryClaim<P>(queue, q);
      if (lease) return lease;
      const left = deadline - Date.now();
      if (left <= 0) return null;
      await new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          q.waiters.delete(done);
          resolve();
        };
        const timer = setTimeout(done, left);
        q.waiters.add(done);
      });
    }
  }

  #held(queue: string, id: string, token: string): { q: MemoryQueue; m: Message } | null {
    const q = this.#queues.get(queue);
    const m = q?.messages.get(id);
    if (!q || !m || m.token !== token || (m.leaseUntil ?? 0) < Date.now()) return null;
    return { q, m };
  }

  async extend(queue: string, id: string, token: string, leaseMs = this.leaseMs): Promise<number | null> {
    const held = this.#held(queue, id, token);
    if (!held) return null;
    held.m.leaseUntil = Date.now() + leaseMs;
    return held.m.leaseUntil;
  }

  #finish(q: MemoryQueue, id: string): void {
    q.messages.delete(id);
    q.active.delete(id);
    const now = Date.now();
    q.finished.set(id, now + this.dedupMs);
    // Old entries go in insertion order, which is expiry order (dedupMs is fixed).
    for (const [k, until] of q.finished) {
      if (until > now) break;
      q.finished.delete(k);
    }
  }

  async complete(queue: string, id: string, token: string): Promise<boolean> {
    const held = this.#held(queue, id, token);
    if (!held) return false;
    this.#finish(held.q, id);
    return true;
  }

  async fail(queue: string, id: string, token: string, opts: { error: string; final?: boolean; retryDelayMs?: number }): Promise<'retry' | 'failed' | 'lost'> {
    const held = this.#held(queue, id, token);
    if (!held) return 'lost';
    if (opts.final) {
      this.#finish(held.q, id);
      return 'failed';
    }
    held.m.readyAt = Date.now() + Math.max(0, opts.retryDelayMs ?? 0);
    this.#schedule(held.q, held.m);
    return 'retry';
  }

  async remove(queue: string, id: string): Promise<boolean> {
    const q = this.#queues.get(queue);
    const m = q?.messages.get(id);
    if (!q || !m || m.token !== undefined) return false;
    q.messages.delete(id);
    return true;
  }

  async counts(queue: string): Promise<QueueCounts> {
    const q = this.#queues.get(queue);
    if (!q) return { waiting: 0, delayed: 0, active: 0 };
    const now = Date.now();
    let waiting = 0;
    let delayed = 0;
    for (const m of q.messages.values()) {
      if (m.token !== undefined) continue;
      if (m.readyAt <= now) waiting++;
      else delayed++;
    }
    return { waiting, delayed, active: q.active.size };
  }

  /** Lapsed leases: the message goes back to the queue at once; its old token no longer matches. */
  #sweep(): void {
    const now = Date.now();
    for (const q of this.#queues.values()) {
      for (const id of q.active) {
        const m = q.messages.get(id);
        if (!m) {
          q.active.delete(id);
          continue;
        }
        if ((m.leaseUntil ?? 0) < now) {
          m.readyAt = now;
          this.#schedule(q, m);
        }
      }
    }
  }

  #checkOpen(): void {
    if (this.#closed) throw new Error('The broker is closed');
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#sweeper);
    for (const q of this.#queues.values()) {
      if (q.timer) clearTimeout(q.timer);
      q.wake();
    }
  }
}
