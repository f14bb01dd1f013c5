/**
 * Cluster ports on Redis (a farm of stateless processes). One ioredis connection runs commands; a second one
 * is dedicated to SUBSCRIBE, because a connection in subscriber mode cannot run anything else.
 *
 * The cache talks to Redis through ioredis directly rather than keyv + @keyv/redis:
 * - @keyv/redis is built on node-redis (@redis/client), so it would add a third connection from another client
 *   library, with its own reconnect and error behaviour to tame next to ioredis;
 * - keyv stores every value inside a `{"value":…,"expires":…}` envelope, while INCRBY, SET NX and GETDEL
 *   (which increment, setIfAbsent and take need to be atomic) work on the raw value — a counter written by
 *   INCRBY would not read back through keyv, and a value written by keyv would not take through GETDEL;
 * - keyv swallows store errors by default, whereas a dead Redis must surface as a 503 here.
 * So every cache value is stored as its plain JSON text, readable by all six operations.
 */
import { createHash } from 'node:crypto';
import { Redis, ReplyError, type RedisOptions } from 'ioredis';
import { KernelErrors, isCozyError, type CozyError } from '../errors.ts';
import { createLeaseLocks, type LeaseStore } from './lease-locks.ts';
import {
  HandlerRegistry,
  KeyedMutex,
  assertStorable,
  normaliseTtl,
  notAnInteger,
  requireStep,
} from './shared.ts';
import type { Cache, ClusterPorts, MessageHandler, PubSub } from './types.ts';

export interface RedisClusterOptions {
  /** redis://[user:password@]host:port[/db] */
  url: string;
  /** Prepended to every key and channel, so several stacks (or test runs) can share one Redis. */
  keyPrefix?: string;
  /** Upper bound for any single Redis call, including one queued while reconnecting. */
  commandTimeoutMs?: number;
}

const DEFAULT_PREFIX = 'cozy:';
const DEFAULT_COMMAND_TIMEOUT_MS = 2_000;

/** A Lua script sent once and then called by its SHA1, falling back to EVAL after a Redis restart/flush. */
class LuaScript {
  readonly #source: string;
  readonly #sha: string;

  constructor(source: string) {
    this.#source = source;
    this.#sha = createHash('sha1').update(source).digest('hex');
  }

  async run(redis: Redis, keys: string[], args: Array<string | number>): Promise<unknown> {
    try {
      return await redis.evalsha(this.#sha, keys.length, ...keys, ...args);
    } catch (err) {
      if (err instanceof Error && err.message.startsWith('NOSCRIPT')) {
        return redis.eval(this.#source, keys.length, ...keys, ...args);
      }
      throw err;
    }
  }
}

// EXISTS before INCRBY tells whether this call created the key: the counting window starts at the first hit
// and later hits must not push the expiry back.
const INCREMENT = new LuaScript(`
local created = redis.call('EXISTS', KEYS[1]) == 0
local value = redis.call('INCRBY', KEYS[1], ARGV[1])
if created and tonumber(ARGV[2]) > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return value`);

// Compare-and-act on the token, so a holder whose lease expired cannot extend or free its successor's lease.
const RENEW = new LuaScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0`);
const RELEASE = new LuaScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`);

// Replies that mean the caller asked for something impossible (a bug), as opposed to Redis being unable to
// answer right now (LOADING, READONLY, MASTERDOWN, timeouts, closed sockets…), which is a 503.
const CALLER_ERROR = /WRONGTYPE|not an integer|overflow/;

function toCozyError(err: unknown, key?: string): CozyError {
  if (isCozyError(err)) return err;
  if (err instanceof ReplyError && err instanceof Error && CALLER_ERROR.test(err.message)) {
    return key === undefined ? KernelErrors.internal(err.message, { cause: err }) : notAnInteger(key, err);
  }
  return KernelErrors.cacheUnavailable(undefined, { cause: err });
}

async function guard<T>(operation: Promise<T>, key?: string): Promise<T> {
  try {
    return await operation;
  } catch (err) {
    throw toCozyError(err, key);
  }
}

function decode<T>(raw: string | null): T | undefined {
  return raw === null ? undefined : (JSON.parse(raw) as T);
}

function encode(value: unknown): string {
  assertStorable(value);
  return JSON.stringify(value);
}

function connection(url: string, name: string, commandTimeout: number): Redis {
  const options: RedisOptions = {
    connectionName: name,
    // createRedisCluster connects explicitly, so a bad URL fails the factory instead of the first request.
    lazyConnect: true,
    connectTimeout: commandTimeout,
    commandTimeout,
    // Fail queued commands after one failed reconnect instead of holding requests for a Redis that is gone.
    maxRetriesPerRequest: 1,
    // Keep reconnecting in the background (capped), so the stack recovers on its own once Redis is back.
    retryStrategy: (attempt) => Math.min(attempt * 100, 2_000),
  };
  const redis = new Redis(url, options);
  // Without a listener, ioredis reports every failed reconnect as an unhandled 'error' event. The failures
  // that matter reach callers as rejected commands (turned into 503s), so this listener has nothing to add.
  redis.on('error', () => undefined);
  return redis;
}

async function quit(redis: Redis): Promise<void> {
  if (redis.status === 'ready') {
    try {
      await redis.quit();
      return;
    } catch {
      // Redis went away mid-QUIT; dropping the socket is all that is left to do.
    }
  }
  redis.disconnect();
}

export async function createRedisCluster(opts: RedisClusterOptions): Promise<ClusterPorts> {
  const prefix = opts.keyPrefix ?? DEFAULT_PREFIX;
  const timeout = opts.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
  const redis = connection(opts.url, 'cozy-commands', timeout);
  const subscriber = connection(opts.url, 'cozy-subscriber', timeout);
  try {
    await Promise.all([redis.connect(), subscriber.connect()]);
  } catch (err) {
    redis.disconnect();
    subscriber.disconnect();
    throw KernelErrors.cacheUnavailable('Cannot connect to the Redis server', { cause: err });
  }

  const cacheKey = (key: string): string => `${prefix}cache:${key}`;
  const lockKey = (name: string): string => `${prefix}lock:${name}`;

  const cache: Cache = {
    async get<T = unknown>(key: string): Promise<T | undefined> {
      return decode<T>(await guard(redis.get(cacheKey(key))));
    },

    async set(key: string, value: unknown, ttlMs?: number): Promise<void> {
      const raw = encode(value);
      const ttl = normaliseTtl(ttlMs);
      await guard(ttl === undefined ? redis.set(cacheKey(key), raw) : redis.set(cacheKey(key), raw, 'PX', ttl));
    },

    async delete(key: string): Promise<boolean> {
      return (await guard(redis.del(cacheKey(key)))) > 0;
    },

    async increment(key: string, ttlMs?: number, by = 1): Promise<number> {
      const ttl = normaliseTtl(ttlMs) ?? 0;
      const step = requireStep(by);
      return Number(await guard(INCREMENT.run(redis, [cacheKey(key)], [step, ttl]), key));
    },

    async setIfAbsent(key: string, value: unknown, ttlMs?: number): Promise<boolean> {
      const raw = encode(value);
      const ttl = normaliseTtl(ttlMs);
      const reply =
        ttl === undefined
          ? await guard(redis.set(cacheKey(key), raw, 'NX'))
          : await guard(redis.set(cacheKey(key), raw, 'PX', ttl, 'NX'));
      return reply === 'OK';
    },

    async take<T = unknown>(key: string): Promise<T | undefined> {
      // GETDEL needs Redis >= 6.2 (Debian bookworm ships 7.0); it is one atomic command, no script needed.
      return decode<T>(await guard(redis.getdel(cacheKey(key))));
    },

    async ping(): Promise<void> {
      await guard(redis.ping());
    },
  };

  const leaseStore: LeaseStore = {
    async tryTake(name, token, ttlMs) {
      return (await guard(redis.set(lockKey(name), token, 'PX', ttlMs, 'NX'))) === 'OK';
    },
    async extend(name, token, ttlMs) {
      return Number(await guard(RENEW.run(redis, [lockKey(name)], [token, ttlMs]))) === 1;
    },
    async drop(name, token) {
      await guard(RELEASE.run(redis, [lockKey(name)], [token]));
    },
  };

  const handlers = new HandlerRegistry();
  // Channels this process has SUBSCRIBEd to in Redis. (Un)subscribe calls for one channel are queued so that
  // "first handler subscribes" and "last handler unsubscribes" cannot interleave into a lost subscription.
  const active = new Set<string>();
  const perChannel = new KeyedMutex();

  subscriber.on('message', (fullChannel: string, message: string) => {
    if (!fullChannel.startsWith(prefix)) return;
    handlers.deliver(fullChannel.slice(prefix.length), message);
  });

  const pubsub: PubSub = {
    async publish(channel: string, message: string): Promise<void> {
      // Issued synchronously so publishes from one process reach Redis (one connection) in call order.
      await guard(redis.publish(prefix + channel, message));
    },

    subscribe(channel: string, handler: MessageHandler): Promise<() => Promise<void>> {
      return perChannel.run(channel, async () => {
        const entry = handlers.add(channel, handler);
        if (!active.has(channel)) {
          try {
            await guard(subscriber.subscribe(prefix + channel));
          } catch (err) {
            handlers.remove(channel, entry);
            throw err;
          }
          active.add(channel);
        }
        let done = false;
        return () =>
          perChannel.run(channel, async () => {
            if (done) return;
            done = true;
            if (!handlers.remove(channel, entry) || !active.has(channel)) return;
            active.delete(channel);
            // Delivery has already stopped locally (no handler left). If Redis cannot take the UNSUBSCRIBE now,
            // stray messages are dropped on arrival and the server forgets the subscription with the socket, so
            // failing the caller would only burden its cleanup path.
            await subscriber.unsubscribe(prefix + channel).catch(() => undefined);
          });
      });
    },
  };

  let closing: Promise<void> | undefined;
  return {
    kind: 'redis',
    cache,
    locks: createLeaseLocks(leaseStore),
    pubsub,
    close() {
      closing ??= (async () => {
        handlers.clear();
        await Promise.all([quit(redis), quit(subscriber)]);
      })();
      return closing;
    },
  };
}
