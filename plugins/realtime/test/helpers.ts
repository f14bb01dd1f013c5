import type { AddressInfo } from 'node:net';
import type { Test } from 'tap';
import WebSocket from 'ws';
import type { ClusterPorts, CozyConfig, InstanceDoc, StoreAdapter } from '@cozy-ts/kernel';
import { startTestKernel, type TestKernel } from '@cozy-ts/kernel/testing';
import { createMemoryCluster } from '../../../kernel/src/cluster/memory-cluster.ts';
import { withNoopClose } from '../../../kernel/test/helpers/shared-ports.ts';
import type { RealtimeConfig } from '../src/config.ts';

export { withNoopClose };

export interface ServerMessage {
  event: string;
  payload: {
    type?: string;
    id?: string;
    doc?: Record<string, unknown>;
    old?: Record<string, unknown>;
    status?: string;
    code?: string;
    title?: string;
    source?: unknown;
  };
}

export interface Closed {
  code: number;
  reason: string;
}

/** A `ws` client that queues what the server sends, so a test can await messages one by one. */
export class TestSocket {
  readonly closed: Promise<Closed>;
  pings = 0;
  readonly #inbox: ServerMessage[] = [];
  readonly #waiters: Array<(m: ServerMessage) => void> = [];

  constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer) => {
      const message = JSON.parse(data.toString('utf8')) as ServerMessage;
      const waiter = this.#waiters.shift();
      if (waiter) waiter(message);
      else this.#inbox.push(message);
    });
    ws.on('ping', () => this.pings++);
    ws.on('error', () => undefined);
    this.closed = new Promise((resolve) => ws.once('close', (code: number, reason: Buffer) => resolve({ code, reason: reason.toString() })));
  }

  send(message: unknown): void {
    this.ws.send(typeof message === 'string' || Buffer.isBuffer(message) ? message : JSON.stringify(message));
  }

  /** The next message; rejects when none comes within `timeoutMs` or the socket closes first. */
  next(timeoutMs = 3000): Promise<ServerMessage> {
    const queued = this.#inbox.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const stop = (err?: Error, m?: ServerMessage) => {
        const i = this.#waiters.indexOf(waiter);
        if (i !== -1) this.#waiters.splice(i, 1);
        clearTimeout(timer);
        if (m) resolve(m);
        else reject(err);
      };
      const waiter = (m: ServerMessage) => stop(undefined, m);
      const timer = setTimeout(() => stop(new Error(`no message within ${timeoutMs} ms`)), timeoutMs);
      this.#waiters.push(waiter);
      void this.closed.then(({ code }) => stop(new Error(`socket closed (${code}) before a message came`)));
    });
  }

  /** Messages already received and not yet read. */
  get pending(): number {
    return this.#inbox.length;
  }

  /**
   * Waits until the server has handled everything sent before: the server handles messages in order, and a
   * SUBSCRIBE without a type always answers (with a 404 error event).
   */
  async settle(): Promise<void> {
    this.send({ method: 'SUBSCRIBE', payload: {} });
    const before: ServerMessage[] = [];
    for (;;) {
      const m = await this.next();
      if (m.event === 'error' && m.payload.code === 'page not found') break;
      before.push(m);
    }
    this.#inbox.unshift(...before);
  }

  /** Subscribes (whole doctype, or one id) and waits until the server has taken it into account. */
  async subscribe(type: string, id?: string): Promise<void> {
    this.send({ method: 'SUBSCRIBE', payload: id === undefined ? { type } : { type, id } });
    await this.settle();
  }

  terminate(): void {
    this.ws.terminate();
  }
}

export interface SocketOptions {
  protocols?: string[];
  autoPong?: boolean;
}

/** Opens a socket to 127.0.0.1 with an explicit Host header (instances are resolved from it). */
export function openSocket(t: Test, port: number, host: string, opts: SocketOptions = {}): Promise<TestSocket> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/realtime/`, opts.protocols ?? ['io.cozy.websocket'], {
    headers: { host },
    autoPong: opts.autoPong ?? true,
  });
  const socket = new TestSocket(ws);
  t.teardown(() => socket.terminate());
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(socket));
    ws.once('unexpected-response', (req, res) => {
      req.destroy();
      reject(new Error(`upgrade refused: ${res.statusCode}`));
    });
    ws.once('error', reject);
  });
}

export interface RealtimeServer {
  tk: TestKernel;
  port: number;
  /** A token for `inst` with the given scope (a CLI token: its permissions are exactly the scope). */
  token(inst: InstanceDoc, scope: string): Promise<string>;
  /** A socket on `inst`, authenticated with `scope`. */
  authed(inst: InstanceDoc, scope: string): Promise<TestSocket>;
  connect(host: string, opts?: SocketOptions): Promise<TestSocket>;
}

export interface RealtimeServerOptions {
  realtime?: Partial<RealtimeConfig>;
  config?: CozyConfig;
  storeAdapter?: StoreAdapter;
  cluster?: ClusterPorts;
}

/** A test kernel with the realtime plugin, listening on a free loopback port; closed with the test. */
export async function startRealtimeServer(t: Test, opts: RealtimeServerOptions = {}): Promise<RealtimeServer> {
  const tk = await startTestKernel({
    config: { ...opts.config, plugins: { '@cozy-ts/plugin-realtime': opts.realtime ?? {} } },
    storeAdapter: opts.storeAdapter,
    cluster: opts.cluster,
  });
  t.teardown(() => tk.close());
  await tk.kernel.app.listen({ host: '127.0.0.1', port: 0 });
  const port = (tk.kernel.app.server.address() as AddressInfo).port;
  const token = (inst: InstanceDoc, scope: string) => tk.kernel.auth.issueToken(inst, 'cli', { subject: 'test', scope });
  const connect = (host: string, o?: SocketOptions) => openSocket(t, port, host, o);
  return {
    tk,
    port,
    token,
    connect,
    async authed(inst, scope) {
      const socket = await connect(inst.domain);
      socket.send({ method: 'AUTH', payload: await token(inst, scope) });
      return socket;
    },
  };
}

/** Resolves false when nothing arrives within `ms`, so a test can assert that an event was not delivered. */
export async function receivesWithin(socket: TestSocket, ms: number): Promise<boolean> {
  return socket.next(ms).then(
    () => true,
    () => false,
  );
}

export interface TrackingCluster extends ClusterPorts {
  /** How many subscriptions to `channel` are active. */
  listening(channel: string): number;
}

/** A memory cluster that counts active pub/sub subscriptions per channel. */
export function trackingCluster(): TrackingCluster {
  const inner = createMemoryCluster();
  const active = new Map<string, number>();
  const bump = (channel: string, by: number) => active.set(channel, (active.get(channel) ?? 0) + by);
  return {
    kind: inner.kind,
    cache: inner.cache,
    locks: inner.locks,
    close: () => inner.close(),
    listening: (channel) => active.get(channel) ?? 0,
    pubsub: {
      publish: (channel, message) => inner.pubsub.publish(channel, message),
      async subscribe(channel, handler) {
        const off = await inner.pubsub.subscribe(channel, handler);
        bump(channel, 1);
        return async () => {
          bump(channel, -1);
          await off();
        };
      },
    },
  };
}
