import t, { type Test } from 'tap';
import { clientKey, DEFAULT_LOGIN_LIMITS, LoginThrottle, retryAfterSeconds } from '../src/auth/login-throttle.ts';
import { clientPassphraseHash } from '../src/auth/passphrase.ts';
import { createMemoryCluster } from '../src/cluster/memory-cluster.ts';
import type { Cache, ClusterPorts } from '../src/cluster/types.ts';
import type { CozyError } from '../src/errors.ts';
import { startTestKernel } from '../src/testing/test-kernel.ts';
import { InjectBrowser } from './helpers/inject-browser.ts';
import { startTwoProcesses } from './helpers/shared-ports.ts';

const PASSWORD = 'the owner knows this one';
const WRONG = 'bm90IHRoZSBwYXNzcGhyYXNl';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const inst = { domain: 'alice.example', prefix: 'cozyalice' };

/** Resolves to the 429 a throttle call threw, or fails the test. */
async function throttled(t: Test, p: Promise<unknown>, message: string): Promise<CozyError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e as CozyError,
  );
  t.equal(err?.status, 429, message);
  return err as CozyError;
}

t.test('LoginThrottle', async (t) => {
  const cluster = createMemoryCluster();
  t.teardown(() => cluster.close());
  let now = 1_700_000_000_000;
  const clock = () => now;

  t.test('locks an address out after its limit, with Retry-After, and not its neighbours', async (t) => {
    const throttle = new LoginThrottle(cluster.cache, { perIp: { limit: 5, windowMs: 15 * 60_000 }, perInstance: { limit: 100, windowMs: 3_600_000 } }, clock);
    for (let i = 0; i < 5; i++) {
      await throttle.begin(inst, '192.0.2.1');
      await throttle.failed(inst, '192.0.2.1');
    }
    const err = await throttled(t, throttle.begin(inst, '192.0.2.1'), 'the sixth guess is refused');
    t.equal(err.code, 'COZY_ERR_LOGIN_THROTTLED');
    t.equal(retryAfterSeconds(err), 900);
    now += 60_000;
    t.equal(retryAfterSeconds(await throttled(t, throttle.begin(inst, '192.0.2.1'), 'still locked')), 840, 'Retry-After counts down');
    await t.resolves(throttle.begin(inst, '192.0.2.2'), 'another address is not affected');
    await t.resolves(throttle.begin({ ...inst, domain: 'bob.example' }, '192.0.2.1'), 'the same address on another instance is not affected');
  });

  t.test('a success forgives the address its earlier guesses', async (t) => {
    const throttle = new LoginThrottle(cluster.cache, { perIp: { limit: 3, windowMs: 60_000 }, perInstance: { limit: 100, windowMs: 60_000 } }, clock);
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 2; i++) {
        await throttle.begin(inst, '192.0.2.10');
        await throttle.failed(inst, '192.0.2.10');
      }
      await t.resolves(throttle.begin(inst, '192.0.2.10'), `round ${round}: the third try after two typos is let through`);
      await throttle.succeeded(inst, '192.0.2.10');
    }
  });

  t.test('parallel guesses cannot slip past the limit while they are being checked', async (t) => {
    const throttle = new LoginThrottle(cluster.cache, { perIp: { limit: 5, windowMs: 60_000 }, perInstance: { limit: 100, windowMs: 60_000 } }, clock);
    const results = await Promise.allSettled(Array.from({ length: 20 }, () => throttle.begin(inst, '192.0.2.20')));
    t.equal(results.filter((r) => r.status === 'fulfilled').length, 5);
  });

  t.test('the instance ceiling blocks every address for a window, then lets the owner back in', async (t) => {
    const throttle = new LoginThrottle(cluster.cache, { perIp: { limit: 1000, windowMs: 60_000 }, perInstance: { limit: 10, windowMs: 300 } });
    const target = { ...inst, domain: 'ceiling.example' };
    for (let i = 0; i < 10; i++) {
      await throttle.begin(target, `198.51.100.${i}`);
      await throttle.failed(target, `198.51.100.${i}`);
    }
    await throttled(t, throttle.begin(target, '203.0.113.99'), 'a fresh address is refused too');
    await sleep(350);
    await t.resolves(throttle.begin(target, '203.0.113.99'), 'after the window the owner can try again');
  });

  t.test('an IPv6 /64 counts as one address; IPv4-mapped addresses as their IPv4', async (t) => {
    t.equal(clientKey('2001:db8:1:2:aaaa::1'), clientKey('2001:0db8:0001:0002:ffff:ffff:ffff:ffff'));
    t.not(clientKey('2001:db8:1:2::1'), clientKey('2001:db8:1:3::1'));
    t.equal(clientKey('::ffff:192.0.2.1'), '192.0.2.1');
    t.equal(clientKey('192.0.2.1'), '192.0.2.1');
  });

  t.test('the defaults are documented ones', async (t) => {
    t.same(DEFAULT_LOGIN_LIMITS, { perIp: { limit: 5, windowMs: 900_000 }, perInstance: { limit: 1000, windowMs: 3_600_000 } });
  });
});

/** Compresses lock-out times: a lock the throttle sets for minutes lasts `ms` here, the counters are untouched. */
function withShortLockouts(cluster: ClusterPorts, ms: number): ClusterPorts {
  const cache: Cache = new Proxy(cluster.cache, {
    get: (target, prop) => {
      if (prop === 'set') return (key: string, value: unknown, ttl?: number) => target.set(key, value, key.startsWith('login-lock:') && ttl ? Math.min(ttl, ms) : ttl);
      const v: unknown = Reflect.get(target, prop, target);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  return { kind: cluster.kind, cache, locks: cluster.locks, pubsub: cluster.pubsub, close: async () => undefined };
}


t.test('over HTTP: five wrong passphrases from one address get 429 until the lock-out ends', async (t) => {
  const cluster = createMemoryCluster();
  const tk = await startTestKernel({ cluster: withShortLockouts(cluster, 600) });
  t.teardown(async () => {
    await tk.close();
    await cluster.close();
  });
  const alice = await tk.createInstance('alice.example', { passphrase: PASSWORD });
  const hash = await clientPassphraseHash(PASSWORD, alice.domain, alice.kdf_iterations);
  const attacker = new InjectBrowser(tk.kernel.app, 'alice.example', '192.0.2.66');
  for (let i = 0; i < 5; i++) t.equal((await attacker.login(WRONG)).statusCode, 401, `guess ${i + 1}`);
  const locked = await attacker.login(hash);
  t.equal(locked.statusCode, 429, 'even the right passphrase is refused while locked out');
  t.equal(locked.headers['retry-after'], '900');
  t.match(locked.body, 'Too many failed login attempts', 'the form says why');
  const json = await attacker.login(hash, {}, { headers: { accept: 'application/json' } });
  t.equal(json.statusCode, 429);
  t.same(json.json(), { error: 'Too many failed login attempts, try again later' });
  t.equal((await new InjectBrowser(tk.kernel.app, 'alice.example', '192.0.2.67').login(hash)).statusCode, 303, 'the owner elsewhere is not affected');
  await sleep(700);
  t.equal((await attacker.login(hash)).statusCode, 303, 'after the lock-out the right passphrase works again');
});

t.test('1,000 failed logins lock the instance for every process sharing the cluster', async (t) => {
  // Two "processes": each kernel has its own instance cache and throttle, only the store and cluster are shared.
  const { p1, p2 } = await startTwoProcesses(t, { cluster: (c) => withShortLockouts(c, 1500) });
  const alice = await p1.createInstance('shared.example', { passphrase: PASSWORD });
  const hash = await clientPassphraseHash(PASSWORD, alice.domain, alice.kdf_iterations);

  // 999 failures spread over many addresses, recorded as the login route records them (checking 999 scrypt
  // hashes over HTTP would take minutes); the 1,000th goes through the first process's login form.
  const throttle = new LoginThrottle(p1.kernel.cluster.cache);
  for (let i = 0; i < 999; i++) {
    const ip = `10.${(i >> 8) & 255}.${i & 255}.1`;
    await throttle.begin(alice, ip);
    await throttle.failed(alice, ip);
  }
  t.equal((await new InjectBrowser(p1.kernel.app, 'shared.example', '10.200.0.1').login(WRONG)).statusCode, 401, 'the 1,000th failure');
  const owner = new InjectBrowser(p2.kernel.app, 'shared.example', '198.51.100.1');
  const refused = await owner.login(hash);
  t.equal(refused.statusCode, 429, 'the other process refuses even the owner, from a fresh address');
  t.equal(refused.headers['retry-after'], '3600');
  t.equal((await new InjectBrowser(p1.kernel.app, 'shared.example', '198.51.100.2').login(hash)).statusCode, 429, 'and so does the first');
  await sleep(1600);
  t.equal((await owner.login(hash)).statusCode, 303, 'after the window the owner logs in again');
});
