import t from 'tap';
import { collate } from '../src/collate.ts';
import { compileSelector } from '../src/mango-selector.ts';

const doc = {
  _id: 'd1',
  name: 'Alice',
  age: 31,
  tags: ['a', 'b'],
  scores: [3, 7],
  nested: { city: 'Paris', zip: '75001', 'dot.ted': true },
  nothing: null,
  empty: [],
  items: [{ kind: 'x', n: 1 }, { kind: 'y', n: 2 }],
};

const matches = (selector: unknown) => compileSelector(selector)(doc);

/** The error compiling `selector` throws. */
function refusal(selector: unknown): unknown {
  try {
    compileSelector(selector);
  } catch (err) {
    return err;
  }
  throw new Error(`${JSON.stringify(selector)} was accepted`);
}

t.test('implicit equality, nested fields and dotted paths', async (t) => {
  t.ok(matches({ name: 'Alice' }));
  t.notOk(matches({ name: 'alice' }));
  t.ok(matches({ nested: { city: 'Paris' } }));
  t.ok(matches({ 'nested.city': 'Paris' }));
  t.ok(matches({ 'nested.dot\\.ted': true }), 'an escaped dot stays in the name');
  t.ok(matches({ tags: ['a', 'b'] }), 'an array equals an array');
  t.notOk(matches({ missing: 'x' }));
  t.ok(matches({}), 'the empty selector matches everything');
});

t.test('comparison operators follow CouchDB collation across types', async (t) => {
  t.ok(matches({ age: { $gt: 30, $lte: 31 } }));
  t.notOk(matches({ age: { $lt: 31 } }));
  t.ok(matches({ age: { $gte: 31 } }));
  t.ok(matches({ name: { $gt: 5 } }), 'strings sort after numbers');
  t.ok(matches({ nothing: { $lt: false } }), 'null sorts before false');
  t.ok(matches({ nothing: { $eq: null } }));
  t.ok(matches({ name: { $ne: 'Bob' } }));
  t.notOk(matches({ name: { $ne: 'Alice' } }));
});

t.test('a missing field only matches $exists: false', async (t) => {
  t.ok(matches({ missing: { $exists: false } }));
  t.notOk(matches({ missing: { $ne: 1 } }));
  t.notOk(matches({ missing: { $not: { $eq: 1 } } }));
  t.ok(matches({ $not: { missing: 1 } }), 'a top-level $not does');
  t.ok(matches({ name: { $exists: true } }));
  t.notOk(matches({ name: { $exists: false } }));
});

t.test('array and set operators', async (t) => {
  t.ok(matches({ tags: { $in: ['b', 'z'] } }), '$in looks at the elements of an array');
  t.ok(matches({ age: { $in: [30, 31] } }));
  t.notOk(matches({ age: { $nin: [30, 31] } }));
  t.ok(matches({ tags: { $nin: ['z'] } }));
  t.ok(matches({ tags: { $all: ['b', 'a'] } }));
  t.notOk(matches({ tags: { $all: ['a', 'z'] } }));
  t.notOk(matches({ tags: { $all: [] } }));
  t.ok(matches({ tags: { $size: 2 } }));
  t.ok(matches({ scores: { $elemMatch: { $gt: 5 } } }));
  t.ok(matches({ items: { $elemMatch: { kind: 'y', n: 2 } } }));
  t.notOk(matches({ items: { $elemMatch: { kind: 'y', n: 1 } } }));
  t.ok(matches({ scores: { $allMatch: { $gt: 2 } } }));
  t.notOk(matches({ empty: { $allMatch: { $gt: 2 } } }), '$allMatch needs a non-empty array');
});

t.test('$type, $mod, $regex', async (t) => {
  t.ok(matches({ nothing: { $type: 'null' }, tags: { $type: 'array' }, nested: { $type: 'object' }, age: { $type: 'number' } }));
  t.ok(matches({ age: { $mod: [10, 1] } }));
  t.notOk(matches({ name: { $mod: [10, 1] } }));
  t.ok(matches({ name: { $regex: '^Al' } }));
  t.notOk(matches({ age: { $regex: '3' } }), '$regex only matches strings');
});

t.test('combination operators', async (t) => {
  t.ok(matches({ $or: [{ name: 'Bob' }, { age: 31 }] }));
  t.notOk(matches({ $and: [{ name: 'Alice' }, { age: 30 }] }));
  t.ok(matches({ $nor: [{ name: 'Bob' }, { age: 30 }] }));
  t.ok(matches({ age: { $not: { $lt: 18 } } }));
});

t.test('unknown operators and malformed arguments are refused', async (t) => {
  t.match(refusal({ a: { $foo: 1 } }), { status: 400, couch: { error: 'invalid_operator', reason: 'Invalid operator: $foo' } });
  t.match(refusal({ $where: 'x' }), { couch: { error: 'invalid_operator' } });
  t.match(refusal({ a: { $keyMapMatch: {} } }), { couch: { error: 'invalid_operator' } });
  for (const bad of [
    { a: { $in: 'x' } },
    { a: { $all: {} } },
    { a: { $size: -1 } },
    { a: { $mod: [0, 1] } },
    { a: { $mod: [2] } },
    { a: { $regex: '[' } },
    { a: { $regex: 3 } },
    { a: { $type: 'date' } },
    { a: { $exists: 1 } },
    { a: { $elemMatch: 3 } },
    { $or: {} },
    { $and: [1] },
    { $not: [] },
  ]) {
    t.match(refusal(bad), { status: 400 }, JSON.stringify(bad));
  }
  t.match(refusal('x'), { status: 400 });
});

t.test('collation orders null, booleans, numbers, strings, arrays, objects', async (t) => {
  const values = [{ b: 1 }, [1, 2], 'b', 'B', 'a', 2, 1, true, false, null, [1], { a: 1 }];
  const sorted = [...values].sort(collate);
  t.same(sorted, [null, false, true, 1, 2, 'a', 'b', 'B', [1], [1, 2], { a: 1 }, { b: 1 }]);
  t.equal(collate('a', 'a'), 0);
  t.equal(collate({ a: 1 }, { a: 1, b: 2 }) < 0, true);
});
