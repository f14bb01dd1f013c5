import t from 'tap';
import type { InstanceDoc } from '../src/instances/instance.ts';
import { InstanceCache } from '../src/instances/instance-cache.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const doc = (domain: string) => ({ _id: domain, domain }) as InstanceDoc;

t.test('Host lookups: found ones and misses expire, each after its own period', async (t) => {
  const cache = new InstanceCache(80, 20);
  cache.set('a.example', doc('a.example'));
  cache.set('nope.example', null);
  t.equal(cache.get('a.example')?.domain, 'a.example');
  t.equal(cache.get('nope.example'), null, 'a miss is remembered as null');
  t.equal(cache.get('other.example'), undefined, 'never looked up');
  await sleep(40);
  t.equal(cache.get('nope.example'), undefined, 'the miss is forgotten first');
  t.equal(cache.get('a.example')?.domain, 'a.example');
  await sleep(60);
  t.equal(cache.get('a.example'), undefined, 'then the instance');
});

t.test('Host lookups: at most maxEntries, the oldest forgotten first, an update never evicts', async (t) => {
  const cache = new InstanceCache(60_000, 60_000, 3);
  for (const d of ['a', 'b', 'c']) cache.set(`${d}.example`, doc(`${d}.example`));
  cache.set('b.example', doc('b.example'));
  t.equal(cache.get('a.example')?.domain, 'a.example', 'refreshing a known domain at the bound keeps the others');
  cache.set('d.example', doc('d.example'));
  t.equal(cache.get('a.example'), undefined, 'a new domain pushes out the oldest');
  for (const d of ['b', 'c', 'd']) t.equal(cache.get(`${d}.example`)?.domain, `${d}.example`);
  cache.delete('b.example');
  t.equal(cache.get('b.example'), undefined);
  cache.clear();
  t.equal(cache.get('d.example'), undefined);
});
