import { isIPv6 } from 'node:net';
import type { Cache } from '../cluster/types.ts';
import { CozyError, defineError } from '../errors.ts';
import type { InstanceRef } from '../instances/instance.ts';

export interface ThrottleRule {
  /** Attempts allowed within the window; the next one locks the scope out. */
  limit: number;
  /** How long a window of counting lasts from its first hit, and how long a lock-out lasts. */
  windowMs: number;
}

export interface LoginThrottleLimits {
  /** Guesses from one client address against one instance. */
  perIp: ThrottleRule;
  /** Failed logins against one instance from anywhere, so guesses spread over many addresses are capped too. */
  perInstance: ThrottleRule;
}

/**
 * Five guesses per address every 15 minutes leave room for an owner's typos while holding a single attacker
 * to 480 guesses a day. The instance ceiling is cozy-stack's `auth` counter (1000 an hour); where cozy-stack
 * then blocks the instance until an admin steps in, here password login is refused for one window (an hour)
 * and the owner can log in again afterwards, so an attacker cannot lock the owner out for good.
 */
export const DEFAULT_LOGIN_LIMITS: LoginThrottleLimits = {
  perIp: { limit: 5, windowMs: 15 * 60_000 },
  perInstance: { limit: 1000, windowMs: 60 * 60_000 },
};

const throttled = defineError('COZY_ERR_LOGIN_THROTTLED', 429, 'Too many failed login attempts, try again later');

export const LOGIN_THROTTLED_CODE = throttled.code;

/** The seconds a 429 from the throttle asks the client to wait. */
export function retryAfterSeconds(err: CozyError): number {
  return Number(err.headers?.['retry-after'] ?? 0);
}

/**
 * IPv6 users get a whole /64 from their provider, so counting single addresses would give an attacker
 * billions of fresh counters: a /64 counts as one address. IPv4-mapped addresses count as the IPv4 one.
 */
export function clientKey(ip: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped) return mapped[1] as string;
  if (!isIPv6(ip)) return ip;
  const [head = '', tail = ''] = ip.toLowerCase().split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = ip.includes('::') ? [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right] : left;
  return `${groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, '')).join(':')}::/64`;
}

/**
 * Brute-force protection for password login. Counters and lock-outs live in the cluster cache, so every
 * process of a farm sees the same ones. Each counting window opens at its first hit (the cache's increment
 * semantics); a scope that goes over its limit is locked out for a full window from that moment.
 *
 * Per address, attempts are counted *before* the passphrase is checked and forgotten on success: a burst of
 * parallel guesses cannot slip past the limit while the slow passphrase checks are in flight.
 */
export class LoginThrottle {
  constructor(
    private readonly cache: Cache,
    private readonly limits: LoginThrottleLimits = DEFAULT_LOGIN_LIMITS,
    private readonly now: () => number = Date.now,
  ) {}

  /** Call before checking a passphrase. Throws 429 with Retry-After while the address or instance is locked. */
  async begin(inst: InstanceRef, ip: string): Promise<void> {
    const k = keys(inst, ip);
    const [ipUntil, instUntil] = await Promise.all([this.cache.get<number>(k.ipLock), this.cache.get<number>(k.instanceLock)]);
    const until = Math.max(ipUntil ?? 0, instUntil ?? 0);
    if (until > 0) throw this.#throttled(until);
    const { limit, windowMs } = this.limits.perIp;
    if ((await this.cache.increment(k.ip, windowMs)) > limit) throw this.#throttled(await this.#lock(k.ipLock, k.ip, windowMs));
  }

  /** Records a wrong passphrase against the instance; reaching the ceiling locks password login for a window. */
  async failed(inst: InstanceRef, ip: string): Promise<void> {
    const k = keys(inst, ip);
    const { limit, windowMs } = this.limits.perInstance;
    if ((await this.cache.increment(k.instance, windowMs)) >= limit) await this.#lock(k.instanceLock, k.instance, windowMs);
  }

  /** The owner got in from this address: its guesses are forgiven (the instance counter is not). */
  async succeeded(inst: InstanceRef, ip: string): Promise<void> {
    await this.cache.delete(keys(inst, ip).ip);
  }

  async #lock(lockKey: string, counterKey: string, windowMs: number): Promise<number> {
    const until = this.now() + windowMs;
    await this.cache.set(lockKey, until, windowMs);
    // The next window starts from zero once the lock-out is over.
    await this.cache.delete(counterKey);
    return until;
  }

  #throttled(until: number): CozyError {
    const seconds = Math.max(1, Math.ceil((until - this.now()) / 1000));
    return throttled(undefined, { headers: { 'retry-after': String(seconds) } });
  }
}

function keys(inst: InstanceRef, ip: string) {
  const who = `${inst.domain}|${clientKey(ip)}`;
  return {
    ip: `login-attempts:ip:${who}`,
    ipLock: `login-lock:ip:${who}`,
    instance: `login-failures:instance:${inst.domain}`,
    instanceLock: `login-lock:instance:${inst.domain}`,
  };
}
