import type { Doc } from '../store/types.ts';

export type DocVerb = 'CREATED' | 'UPDATED' | 'DELETED';

export interface DocEvent {
  /** The instance's domain. */
  domain: string;
  doctype: string;
  verb: DocVerb;
  /** The document after the write (for DELETED: the tombstone with `_id`, `_rev`, `_deleted`). */
  doc: Doc;
  /** The document before the write, when the writer knew it. */
  old?: Doc;
}

export type DocEventListener = (event: DocEvent) => void | Promise<void>;

export interface DocEventBusLogger {
  error(obj: object, msg: string): void;
}

/**
 * In-process bus of document writes. Listeners run after the write is durable and never slow the writer
 * down or fail it: they are called asynchronously and their errors are logged. Cross-process fan-out (for
 * websockets) is the realtime plugin's job, over the cluster pub/sub, so each write is handled once here.
 */
export class DocEventBus {
  readonly #listeners = new Set<DocEventListener>();

  constructor(private readonly log?: DocEventBusLogger) {}

  /** Returns a function that removes the listener. */
  on(listener: DocEventListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  emit(event: DocEvent): void {
    for (const listener of this.#listeners) {
      queueMicrotask(() => {
        try {
          const r = listener(event);
          if (r && typeof (r as Promise<void>).catch === 'function') {
            (r as Promise<void>).catch((err: unknown) => this.#report(err, event));
          }
        } catch (err) {
          this.#report(err, event);
        }
      });
    }
  }

  get listenerCount(): number {
    return this.#listeners.size;
  }

  #report(err: unknown, event: DocEvent): void {
    this.log?.error({ err, doctype: event.doctype, verb: event.verb }, 'doc event listener failed');
  }
}
