import t from 'tap';
import { KernelErrors, PermissionSet, type DocEventListener, type PubSub } from '@cozy-ts/kernel';
import { decodeEvent, encodeEvent } from '../src/cluster-wire.ts';
import { RealtimeHub, type HubListener } from '../src/hub.ts';
import { TokenBucket } from '../src/rate-limit.ts';
import { RealtimeSession, type Peer } from '../src/session.ts';
import { Subscriptions } from '../src/subscriptions.ts';

const quiet = { warn: () => undefined, debug: () => undefined, error: () => undefined };

t.test('UNSUBSCRIBE of a doctype drops its ids too, while unwatching an id keeps the whole doctype', async (t) => {
  const subs = new Subscriptions();
  subs.watch('io.cozy.a', '1');
  subs.watch('io.cozy.a', '2');
  subs.subscribe('io.cozy.b');
  subs.watch('io.cozy.b', '3');
  t.equal(subs.size, 4);
  subs.unsubscribe('io.cozy.a');
  t.notOk(subs.matches('io.cozy.a', '1'));
  subs.unwatch('io.cozy.b', '3');
  t.ok(subs.matches('io.cozy.b', 'anything'), 'the whole doctype stays');
  subs.unwatch('io.cozy.b', 'never-watched');
  subs.unsubscribe('io.cozy.never');
  t.equal(subs.size, 1);
  t.ok(subs.has('io.cozy.b', ''));
  t.notOk(subs.has('io.cozy.b', '3'));
});

t.test('the token bucket allows a burst of its rate, then refills at that rate', async (t) => {
  let now = 0;
  const bucket = new TokenBucket(10, () => now);
  for (let i = 0; i < 10; i++) t.ok(bucket.take(), `burst ${i}`);
  t.notOk(bucket.take(), 'the 11th is refused');
  now += 100;
  t.ok(bucket.take(), 'one more after a tenth of a second');
  t.notOk(bucket.take());
  now += 60_000;
  for (let i = 0; i < 10; i++) bucket.take();
  t.notOk(bucket.take(), 'an idle minute does not bank more than one burst');
});

t.test('cluster messages carry a header and the frame; anything else is not decoded', async (t) => {
  const message = encodeEvent({ verb: 'UPDATED', doctype: 'io.cozy.a', doc: { _id: 'x\ny', n: 1 }, old: { _id: 'x\ny', n: 0 } });
  const decoded = decodeEvent(message);
  t.match(decoded, { doctype: 'io.cozy.a', id: 'x\ny' }, 'a newline in an id is escaped in the header');
  t.same(JSON.parse(decoded?.frame ?? ''), { event: 'UPDATED', payload: { type: 'io.cozy.a', id: 'x\ny', doc: { _id: 'x\ny', n: 1 }, old: { _id: 'x\ny', n: 0 } } });
  for (const bad of ['no newline', '{"a":1}\n{}', 'not json\n{}', '["io.cozy.a"]\n{}', '[1,"x"]\n{}']) t.equal(decodeEvent(bad), undefined, bad);
});

/** A pub/sub whose behaviour a test controls. */
function fakePubSub(opts: { failSubscribe?: number; failPublish?: boolean } = {}) {
  const handlers = new Map<string, Parameters<PubSub['subscribe']>[1]>();
  let failures = opts.failSubscribe ?? 0;
  const pubsub: PubSub = {
    async publish(channel, message) {
      if (opts.failPublish) throw KernelErrors.cacheUnavailable();
      handlers.get(channel)?.(message, channel);
    },
    async subscribe(channel, handler) {
      if (failures-- > 0) throw KernelErrors.cacheUnavailable();
      handlers.set(channel, handler);
      return async () => {
        handlers.delete(channel);
      };
    },
  };
  return { pubsub, handlers };
}

const listener = (frames: string[]): HubListener => ({ matches: () => true, send: (f) => frames.push(f) });

t.test('the hub ignores a message it cannot read and logs it', async (t) => {
  const { pubsub, handlers } = fakePubSub();
  const warnings: string[] = [];
  const hub = new RealtimeHub(pubsub, { warn: (_o, msg) => warnings.push(msg) });
  const frames: string[] = [];
  await hub.attach('a.example', listener(frames));
  handlers.get('realtime:a.example')?.('garbage', 'realtime:a.example');
  t.same(frames, []);
  t.same(warnings, ['unreadable realtime message ignored']);
  await hub.stop();
  t.equal(handlers.size, 0, 'stop unsubscribes');
});

t.test('a failed channel subscription fails the attach, and the next attach tries again', async (t) => {
  const { pubsub, handlers } = fakePubSub({ failSubscribe: 1 });
  const hub = new RealtimeHub(pubsub, quiet);
  await t.rejects(hub.attach('a.example', listener([])), /cluster cache is unavailable/);
  t.equal(handlers.size, 0);
  const detach = await hub.attach('a.example', listener([]));
  t.ok(handlers.has('realtime:a.example'));
  detach();
  await new Promise((r) => setImmediate(r));
  t.equal(handlers.size, 0);
});

t.test('a doc event the cluster cannot take is logged, never thrown at the writer', async (t) => {
  const { pubsub } = fakePubSub({ failPublish: true });
  const warnings: string[] = [];
  const hub = new RealtimeHub(pubsub, { warn: (_o, msg) => warnings.push(msg) });
  let emit: DocEventListener = () => undefined;
  hub.follow({ on: (l) => ((emit = l), () => undefined) });
  await emit({ domain: 'a.example', doctype: 'io.cozy.a', verb: 'CREATED', doc: { _id: '1' } });
  t.same(warnings, ['realtime publish failed']);
  await hub.stop();
});

function fakePeer() {
  const sent: string[] = [];
  const closes: Array<[number, string]> = [];
  const peer: Peer = { send: (f) => sent.push(f), close: (code, reason) => closes.push([code, reason]) };
  return { peer, sent, closes };
}

function session(peer: Peer, authenticate: () => Promise<PermissionSet>) {
  const { pubsub, handlers } = fakePubSub();
  const hub = new RealtimeHub(pubsub, quiet);
  const s = new RealtimeSession(peer, {
    domain: 'a.example',
    hub,
    authenticate,
    authTimeoutMs: 10_000,
    maxMessagesPerSecond: 10,
    maxSubscriptions: 10,
    log: quiet,
  });
  return { s, handlers };
}

t.test('an outage while checking the token closes with 1011 and no 401, so the client retries', async (t) => {
  const { peer, sent, closes } = fakePeer();
  const { s } = session(peer, () => Promise.reject(KernelErrors.storeUnavailable()));
  s.receive(JSON.stringify({ method: 'AUTH', payload: 'token' }));
  await new Promise((r) => setTimeout(r, 10));
  t.same(sent, []);
  t.same(closes, [[1011, 'server error']]);
  s.receive('ignored once closed');
  t.same(sent, []);
});

t.test('a session closed while its token is checked never joins the hub', async (t) => {
  const { peer, closes } = fakePeer();
  let allow: (p: PermissionSet) => void = () => undefined;
  const { s, handlers } = session(peer, () => new Promise((resolve) => (allow = resolve)));
  s.receive(JSON.stringify({ method: 'AUTH', payload: 'token' }));
  s.dispose();
  allow(PermissionSet.fromScope('io.cozy.a'));
  await new Promise((r) => setTimeout(r, 10));
  t.equal(handlers.size, 0, 'no channel is listened to');
  s.close(1000, 'bye');
  t.same(closes, [], 'closing a disposed session does nothing');
});
