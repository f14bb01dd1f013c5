import type { DocEvent, DocEventListener, InstanceRef, PubSub, RealtimeEvent, RealtimeService } from '@cozy-ts/kernel';
import { channelOf, decodeEvent, encodeEvent } from './cluster-wire.ts';

/** A socket as the hub sees it. Neither method may throw: one bad socket must not stop the others' delivery. */
export interface HubListener {
  matches(doctype: string, id: string): boolean;
  send(frame: string): void;
}

/** The sockets of one instance on this process, and this process's subscription to the instance's channel. */
interface Room {
  readonly listeners: Set<HubListener>;
  /** Resolves (to the unsubscribe function) once messages on the channel reach this process. */
  readonly subscription: Promise<() => Promise<void>>;
}

export interface HubLogger {
  warn(obj: object, msg: string): void;
}

export interface DocEventSource {
  on(listener: DocEventListener): () => void;
}

/**
 * The event subscribers get for a store write. A deletion carries the document as it was with its new revision,
 * as cozy-stack sends it (apps read fields such as `dir_id` or `type` of what went away), not the bare tombstone.
 */
function fromDocEvent(e: DocEvent): RealtimeEvent {
  const doc = e.verb === 'DELETED' && e.old ? { ...e.old, ...e.doc } : e.doc;
  return { verb: e.verb, doctype: e.doctype, doc, ...(e.old ? { old: e.old } : {}) };
}

/**
 * The realtime fan-out of one process. Every event, whether a store write seen on this process or a
 * notification, is published on the cluster pub/sub, and sockets are fed only from there: a write is delivered
 * once to every socket of the farm, whichever process made it and whichever holds the socket.
 */
export class RealtimeHub implements RealtimeService {
  readonly #rooms = new Map<string, Room>();
  #unfollow?: () => void;

  constructor(
    private readonly pubsub: PubSub,
    private readonly log: HubLogger,
  ) {}

  notify(inst: InstanceRef, doctype: string, id: string, doc: Readonly<Record<string, unknown>>): Promise<void> {
    return this.publish(inst, { verb: 'NOTIFIED', doctype, doc: { ...doc, _id: id } });
  }

  publish(inst: InstanceRef, event: RealtimeEvent): Promise<void> {
    return this.#publishTo(inst.domain, event);
  }

  /** Publishes every write of the bus. A failed publish (Redis down) loses that event for sockets, not the write. */
  follow(events: DocEventSource): void {
    this.#unfollow?.();
    this.#unfollow = events.on((e) =>
      this.#publishTo(e.domain, fromDocEvent(e)).catch((err: unknown) => this.log.warn({ err, domain: e.domain, doctype: e.doctype }, 'realtime publish failed')),
    );
  }

  /**
   * Adds a socket of `domain`; resolves once the process receives the instance's channel, so whatever the
   * socket subscribes to afterwards cannot miss an event published later. Returns the function that removes it.
   */
  async attach(domain: string, listener: HubListener): Promise<() => void> {
    let room = this.#rooms.get(domain);
    if (!room) {
      const listeners = new Set<HubListener>();
      const subscription = this.pubsub.subscribe(channelOf(domain), (message) => this.#dispatch(listeners, message));
      room = { listeners, subscription };
      this.#rooms.set(domain, room);
    }
    const joined = room;
    joined.listeners.add(listener);
    const detach = () => this.#leave(domain, joined, listener);
    try {
      await joined.subscription;
    } catch (err) {
      detach();
      throw err;
    }
    return detach;
  }

  async stop(): Promise<void> {
    this.#unfollow?.();
    this.#unfollow = undefined;
    const rooms = [...this.#rooms.values()];
    this.#rooms.clear();
    for (const room of rooms) room.listeners.clear();
    await Promise.allSettled(rooms.map((room) => room.subscription.then((unsubscribe) => unsubscribe())));
  }

  #publishTo(domain: string, event: RealtimeEvent): Promise<void> {
    return this.pubsub.publish(channelOf(domain), encodeEvent(event));
  }

  #leave(domain: string, room: Room, listener: HubListener): void {
    if (!room.listeners.delete(listener) || room.listeners.size > 0) return;
    if (this.#rooms.get(domain) === room) this.#rooms.delete(domain);
    room.subscription.then(
      (unsubscribe) => unsubscribe().catch((err: unknown) => this.log.warn({ err, domain }, 'realtime unsubscribe failed')),
      // attach() already reported a subscription that never came.
      () => undefined,
    );
  }

  #dispatch(listeners: ReadonlySet<HubListener>, message: string): void {
    const event = decodeEvent(message);
    if (!event) {
      this.log.warn({ bytes: message.length }, 'unreadable realtime message ignored');
      return;
    }
    for (const listener of listeners) if (listener.matches(event.doctype, event.id)) listener.send(event.frame);
  }
}
