import t from 'tap';
import { BoundedMap } from '../src/bounded-map.ts';

t.test('forgets the oldest key past its bound, never on an update', async (t) => {
  const m = new BoundedMap<string, number>(2);
  m.set('a', 1).set('b', 2);
  m.set('a', 10);
  t.same([...m], [['a', 10], ['b', 2]], 'an update keeps every key');
  m.set('c', 3);
  t.same([...m.keys()], ['b', 'c'], 'a new key pushes out the oldest');
  t.equal(m.size, 2);
});

t.test('touch makes it least recently used', async (t) => {
  const m = new BoundedMap<string, number>(2);
  m.set('a', 1).set('b', 2);
  t.equal(m.touch('a'), 1);
  t.equal(m.touch('zz'), undefined);
  m.set('c', 3);
  t.same([...m.keys()], ['a', 'c'], 'the touched key stays, the untouched one goes');
});
