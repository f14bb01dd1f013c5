import { isCozyError, type PermissionSet } from '@cozy-ts/kernel';
import type { HubListener } from './hub.ts';
import { maySubscribe } from './permissions.ts';
import { CloseCode, ErrorEvents, methodOf, parseMessage, toCommand, tokenOf, type Command } from './protocol.ts';
import { TokenBucket } from './rate-limit.ts';
import { Subscriptions } from './subscriptions.ts';

/** The socket as a session sees it. */
export interface Peer {
  send(frame: string): void;
  close(code: number, reason: string): void;
}

export interface SessionLogger {
  debug(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface SessionOptions {
  domain: string;
  hub: { attach(domain: string, listener: HubListener): Promise<() => void> };
  /** The permissions a token gives on the socket's instance; rejects with a 4xx CozyError for a bad token. */
  authenticate(token: string): Promise<PermissionSet>;
  authTimeoutMs: number;
  maxMessagesPerSecond: number;
  maxSubscriptions: number;
  log: SessionLogger;
}

type State = 'awaiting-auth' | 'authenticating' | 'ready' | 'closed';

/**
 * One websocket's side of the io.cozy.websocket protocol, without the socket: AUTH first, then SUBSCRIBE and
 * UNSUBSCRIBE. Messages are handled one at a time in arrival order, as cozy-stack's read loop does, so a
 * command sent right after AUTH waits for the token check instead of being refused.
 */
export class RealtimeSession implements HubListener {
  #state: State = 'awaiting-auth';
  #permissions?: PermissionSet;
  #detach?: () => void;
  #queue: Promise<void> = Promise.resolve();
  readonly #subscriptions = new Subscriptions();
  readonly #bucket: TokenBucket;
  readonly #authTimer: NodeJS.Timeout;

  constructor(
    private readonly peer: Peer,
    private readonly opts: SessionOptions,
  ) {
    this.#bucket = new TokenBucket(opts.maxMessagesPerSecond);
    this.#authTimer = setTimeout(
      () => this.#fail(ErrorEvents.authTimeout(opts.authTimeoutMs), CloseCode.policyViolation, 'AUTH expected'),
      opts.authTimeoutMs,
    );
  }

  receive(text: string): void {
    if (this.#state === 'closed') return;
    if (!this.#bucket.take()) {
      this.#fail(ErrorEvents.tooManyMessages(this.opts.maxMessagesPerSecond), CloseCode.policyViolation, 'too many messages');
      return;
    }
    const first = this.#state === 'awaiting-auth';
    if (first) {
      // The timer guards against sockets that never speak; checking the token is the server's time, not theirs.
      clearTimeout(this.#authTimer);
      this.#state = 'authenticating';
    }
    this.#queue = this.#queue
      .then(() => (first ? this.#authenticate(text) : this.#command(text)))
      .catch((err: unknown) => {
        this.opts.log.error({ err, domain: this.opts.domain }, 'realtime session failed');
        this.close(CloseCode.internalError, 'server error');
      });
  }

  matches(doctype: string, id: string): boolean {
    return this.#subscriptions.matches(doctype, id);
  }

  send(frame: string): void {
    this.peer.send(frame);
  }

  close(code: number, reason: string): void {
    if (this.#state === 'closed') return;
    this.dispose();
    this.peer.close(code, reason);
  }

  /** The socket is gone: stop listening. Idempotent. */
  dispose(): void {
    this.#state = 'closed';
    clearTimeout(this.#authTimer);
    this.#detach?.();
    this.#detach = undefined;
  }

  async #authenticate(text: string): Promise<void> {
    const message = parseMessage(text);
    const method = methodOf(message);
    if (!message || method.toUpperCase() !== 'AUTH') {
      this.#fail(ErrorEvents.unknownMethod(method, message ?? null), CloseCode.policyViolation, 'AUTH expected');
      return;
    }
    const token = tokenOf(message);
    const permissions = token ? await this.#permissionsOf(token) : undefined;
    if (!permissions) {
      this.#fail(ErrorEvents.unauthorized(message), CloseCode.policyViolation, 'authentication failed');
      return;
    }
    const detach = await this.opts.hub.attach(this.opts.domain, this);
    // The socket may have gone while the token or the channel was awaited.
    if (this.#state === 'closed') {
      detach();
      return;
    }
    this.#detach = detach;
    this.#permissions = permissions;
    this.#state = 'ready';
  }

  /** undefined for a token the instance refuses. */
  async #permissionsOf(token: string): Promise<PermissionSet | undefined> {
    try {
      return await this.opts.authenticate(token);
    } catch (err) {
      // A store or cluster outage is not the client's fault: it propagates, and the socket closes as a server error.
      if (isCozyError(err) && err.status < 500) return undefined;
      throw err;
    }
  }

  #command(text: string): void {
    if (this.#state !== 'ready' || !this.#permissions) return;
    const message = parseMessage(text);
    if (!message) {
      // cozy-stack drops the socket on a message it cannot decode; saying why costs one frame.
      this.#fail(ErrorEvents.invalidMessage(), CloseCode.invalidPayload, 'invalid message');
      return;
    }
    const cmd = toCommand(message);
    const method = cmd.method.toUpperCase();
    if (method !== 'SUBSCRIBE' && method !== 'UNSUBSCRIBE') return this.send(ErrorEvents.unknownMethod(cmd.method, cmd));
    const { type, id } = cmd.payload;
    if (!type) return this.send(ErrorEvents.missingType(cmd));
    if (!maySubscribe(this.#permissions, type, id)) return this.send(ErrorEvents.forbidden(cmd));
    if (method === 'SUBSCRIBE') this.#subscribe(cmd);
    else if (id) this.#subscriptions.unwatch(type, id);
    else this.#subscriptions.unsubscribe(type);
  }

  #subscribe(cmd: Command): void {
    const { type, id } = cmd.payload;
    const subs = this.#subscriptions;
    if (!subs.has(type, id) && subs.size >= this.opts.maxSubscriptions) {
      this.send(ErrorEvents.tooManySubscriptions(cmd, this.opts.maxSubscriptions));
      return;
    }
    if (id) subs.watch(type, id);
    else subs.subscribe(type);
  }

  #fail(frame: string, code: number, reason: string): void {
    if (this.#state === 'closed') return;
    this.send(frame);
    this.close(code, reason);
  }
}
