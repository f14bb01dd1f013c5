import t from 'tap';
import { findFilter, serverSelector } from '../src/store/find-filter.ts';

t.test('$gt: null becomes $gte: false wherever it sits, and nothing else changes', async (t) => {
  const selector = { a: { $gt: null }, b: { $gt: null, $gte: 3 }, $or: [{ c: { $gt: null, $lt: 5 } }], d: { $elemMatch: { e: { $gt: null } } }, f: null, g: { $gt: 0 } };
  const before = structuredClone(selector);
  t.same(serverSelector(selector), {
    a: { $gte: false },
    b: { $gt: null, $gte: 3 },
    $or: [{ c: { $lt: 5, $gte: false } }],
    d: { $elemMatch: { e: { $gte: false } } },
    f: null,
    g: { $gt: 0 },
  });
  t.same(selector, before, 'the caller selector is not touched');
});

t.test('the filter keeps the docs the selector matches and projects the asked fields after reading the selector ones', async (t) => {
  const filter = findFilter({ kind: 'a', n: { $lt: 4 } });
  if (!filter) throw new Error('expected a filter');
  t.same(filter.fields(['_id']), ['_id', 'kind', 'n'], 'the selector fields are asked for too');
  t.same(filter.fields(undefined), undefined);
  t.same(filter.fields([]), [], 'an empty list is left as it is');
  const docs = [
    { _id: 'x', kind: 'a', n: 1, other: 1 },
    { _id: 'y', kind: 'a' },
    { _id: 'z', kind: 'a', n: null },
    { _id: 'w', kind: 'b', n: 1 },
  ];
  // CouchDB's collation puts null below numbers: a null n matches $lt, a missing one never does.
  t.same(filter.docs(docs, undefined).map((d) => d._id), ['x', 'z'], 'a missing field does not match $lt');
  t.same(filter.docs(docs, ['_id', 'other']), [{ _id: 'x', other: 1 }, { _id: 'z' }]);
  t.same(filter.docs(docs, []), docs, 'nothing to check against an empty projection');
  const nested = findFilter({ 'meta.size': { $gt: 2 } });
  t.same(nested?.docs([{ _id: 'a', meta: { size: 3, x: 1 } }, { _id: 'b', meta: { size: 1 } }], ['meta.x']), [{ meta: { x: 1 } }]);
});

t.test('a selector with an operator the matcher does not know is left to the server', async (t) => {
  t.equal(findFilter({ name: { $beginsWith: 'a' } }), undefined);
  t.equal(findFilter({ $or: [{ tags: { $keyMapMatch: { $eq: 1 } } }] }), undefined);
  t.ok(findFilter({ $nor: [{ a: { $regex: '^x' } }], b: { $exists: true, $type: 'string', $size: 1, $mod: [2, 0], $all: [1] } }));
});
