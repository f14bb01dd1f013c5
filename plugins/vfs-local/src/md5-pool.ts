import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

/**
 * MD5 off the event loop. MD5 is serial (about 1.7 s per GiB on one core here), so on the main thread it caps an
 * upload at that rate and stalls every other request meanwhile; a worker hashes one slice while the main thread
 * receives the next and the thread pool writes it. Slices live in SharedArrayBuffers: nothing is copied to hash
 * them, and the writer reuses a slice only once the worker has said it is done with it.
 *
 * The worker is plain JavaScript evaluated from a string, with no execArgv: it needs no TypeScript loader (the
 * server registers tsx through its API, which a worker would not inherit) and stays a few MiB.
 */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const jobs = new Map();
parentPort.on('message', (m) => {
  if (m.op === 'update') {
    let hash = jobs.get(m.job);
    if (!hash) { hash = createHash('md5'); jobs.set(m.job, hash); }
    hash.update(new Uint8Array(m.buffer, m.offset, m.length));
    parentPort.postMessage({ job: m.job, op: 'updated' });
  } else if (m.op === 'digest') {
    const hash = jobs.get(m.job) ?? createHash('md5');
    jobs.delete(m.job);
    const digest = hash.digest();
    parentPort.postMessage({ job: m.job, op: 'digest', digest: digest.buffer.slice(digest.byteOffset, digest.byteOffset + 16) });
  } else if (m.op === 'cancel') {
    jobs.delete(m.job);
  }
});
`;

type Reply = { job: number; op: 'updated' } | { job: number; op: 'digest'; digest: ArrayBuffer };

interface JobWaiters {
  /** One per update still in the worker, in order: the worker answers a job's messages in the order sent. */
  updates: Array<{ resolve: () => void; reject: (err: Error) => void }>;
  digest?: { resolve: (md5: Buffer) => void; reject: (err: Error) => void };
}

class HashWorker {
  readonly #worker: Worker;
  readonly #jobs = new Map<number, JobWaiters>();
  /** Replies awaited from the worker, all jobs together. */
  #pending = 0;
  #dead?: Error;

  constructor(private readonly onExit: (w: HashWorker) => void) {
    this.#worker = new Worker(WORKER_SOURCE, { eval: true, execArgv: [], name: 'vfs-local md5' });
    // Idle, it must not keep a process (a CLI command, a test) alive; with a reply awaited, it must (a digest may be
    // all that is left to do). A job merely left open by a writer nobody committed does not count.
    this.#worker.unref();
    this.#worker.on('message', (m: Reply) => this.#answer(m));
    this.#worker.on('error', (err) => this.#fail(err));
    this.#worker.on('exit', (code) => this.#fail(new Error(`the MD5 worker exited (code ${code})`)));
  }

  get load(): number {
    return this.#jobs.size;
  }

  open(job: number): void {
    if (this.#dead) throw this.#dead;
    this.#jobs.set(job, { updates: [] });
  }

  update(job: number, view: Uint8Array): Promise<void> {
    const waiters = this.#waiters(job);
    return new Promise((resolve, reject) => {
      waiters.updates.push({ resolve, reject });
      this.#awaiting(1);
      this.#worker.postMessage({ op: 'update', job, buffer: view.buffer, offset: view.byteOffset, length: view.byteLength });
    });
  }

  digest(job: number): Promise<Buffer> {
    const waiters = this.#waiters(job);
    return new Promise((resolve, reject) => {
      waiters.digest = { resolve, reject };
      this.#awaiting(1);
      this.#worker.postMessage({ op: 'digest', job });
    });
  }

  cancel(job: number): void {
    const waiters = this.#jobs.get(job);
    if (!waiters) return;
    this.#jobs.delete(job);
    this.#awaiting(-(waiters.updates.length + (waiters.digest ? 1 : 0)));
    const err = new Error('The hash was cancelled');
    for (const w of waiters.updates) w.reject(err);
    waiters.digest?.reject(err);
    if (!this.#dead) this.#worker.postMessage({ op: 'cancel', job });
  }

  terminate(): Promise<number> {
    return this.#worker.terminate();
  }

  #waiters(job: number): JobWaiters {
    if (this.#dead) throw this.#dead;
    const waiters = this.#jobs.get(job);
    if (!waiters) throw new Error(`No hash job ${job}`);
    return waiters;
  }

  #answer(m: Reply): void {
    const waiters = this.#jobs.get(m.job);
    if (!waiters) return; // cancelled meanwhile
    this.#awaiting(-1);
    if (m.op === 'updated') {
      waiters.updates.shift()?.resolve();
    } else {
      this.#jobs.delete(m.job);
      waiters.digest?.resolve(Buffer.from(m.digest));
    }
  }

  /** Keeps the process alive exactly while some reply is awaited. */
  #awaiting(delta: number): void {
    const before = this.#pending;
    this.#pending += delta;
    if (before === 0 && this.#pending > 0) this.#worker.ref();
    else if (before > 0 && this.#pending === 0) this.#worker.unref();
  }

  #fail(err: Error): void {
    if (this.#dead) return;
    this.#dead = err;
    this.onExit(this);
    for (const job of [...this.#jobs.keys()]) this.cancel(job);
  }
}

/** One MD5 in progress on a worker: slices in order, then the digest. */
export interface Md5Job {
  /** Resolves once the worker has hashed `view` (which must stay unchanged until then). */
  update(view: Uint8Array): Promise<void>;
  digest(): Promise<Buffer>;
  /** Drops the job; pending promises reject. Idempotent. */
  cancel(): void;
}

/**
 * A few hashing workers, started on first use. One suffices on a small machine (one core for the event loop and
 * the disk, one for MD5); a bigger one hashes concurrent uploads on up to four.
 */
export class Md5Pool {
  readonly #size: number;
  readonly #workers: HashWorker[] = [];
  #nextJob = 1;

  constructor(size = Math.min(4, Math.max(1, availableParallelism() - 1))) {
    this.#size = size;
  }

  start(): Md5Job {
    const worker = this.#pick();
    const job = this.#nextJob++;
    worker.open(job);
    let done = false;
    return {
      update: (view) => worker.update(job, view),
      digest: () => {
        done = true;
        return worker.digest(job);
      },
      cancel: () => {
        if (done) return;
        done = true;
        worker.cancel(job);
      },
    };
  }

  async close(): Promise<void> {
    const workers = this.#workers.splice(0);
    await Promise.all(workers.map((w) => w.terminate()));
  }

  #pick(): HashWorker {
    const idle = this.#workers.find((w) => w.load === 0);
    if (idle) return idle;
    if (this.#workers.length < this.#size) {
      const worker = new HashWorker((w) => {
        const i = this.#workers.indexOf(w);
        if (i >= 0) this.#workers.splice(i, 1);
      });
      this.#workers.push(worker);
      return worker;
    }
    return this.#workers.reduce((a, b) => (b.load < a.load ? b : a));
  }
}

/** The process's pool: every LocalVfs of a process shares its workers. */
export const md5Pool = new Md5Pool();
