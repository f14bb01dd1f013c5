import t from 'tap';
import { makeRule, PermissionSet, selectorValues, type RuleInput } from '../src/permissions/index.ts';

const set = (...rules: RuleInput[]) => new PermissionSet(rules);

t.test('a rule on a doctype allows every verb on it and nothing on other doctypes', async (t) => {
  const s = set({ type: 'io.cozy.contacts' });
  t.ok(s.allow('GET', 'io.cozy.contacts'));
  t.ok(s.allow('DELETE', 'io.cozy.contacts'));
  t.notOk(s.allow('GET', 'io.cozy.files'));
});

t.test('a wildcard covers its stem and every deeper doctype, but not a longer word', async (t) => {
  const s = set({ type: 'io.cozy.bank.*' });
  // cozy-stack's TestAllowWildcard: the stem itself is covered, so io.cozy.bank.* does match io.cozy.bank.
  t.ok(s.allow('GET', 'io.cozy.bank'), 'the stem io.cozy.bank is covered');
  t.ok(s.allow('DELETE', 'io.cozy.bank.accounts'));
  t.ok(s.allow('DELETE', 'io.cozy.bank.accounts.stats'));
  t.ok(s.allow('DELETE', 'io.cozy.bank.settings'));
  t.notOk(s.allow('GET', 'io.cozy.files'));
  t.notOk(s.allow('GET', 'io.cozy.files.bank'));
  t.notOk(s.allow('GET', 'io.cozy.banks'), 'a doctype that merely starts with the stem is not covered');
  t.notOk(s.allow('GET', 'io.cozy.bankrupts'));
  t.notOk(s.allow('GET', 'io.cozy'), 'a shorter doctype than the stem is not covered');
});

t.test('the maximal set allows everything and says so', async (t) => {
  const s = set({ type: '*' });
  t.ok(s.allow('GET', 'io.cozy.files'));
  t.ok(s.allow('DELETE', 'io.cozy.files.versions'));
  t.ok(s.allowWholeType('POST', 'io.cozy.anything'));
  t.ok(s.isMaximal());
  t.ok(PermissionSet.maximal().isMaximal());
  t.notOk(set({ type: 'io.cozy.files' }).isMaximal());
});

t.test('a rule allows only its verbs, and HEAD with GET', async (t) => {
  const s = set({ type: 'io.cozy.contacts', verbs: ['GET'] });
  t.ok(s.allow('GET', 'io.cozy.contacts'));
  t.ok(s.allow('HEAD', 'io.cozy.contacts'), 'HEAD is checked as GET');
  t.notOk(s.allow('DELETE', 'io.cozy.contacts'));
  t.notOk(s.allow('GET', 'io.cozy.files'));
});

t.test('a rule with values allows only the documents with those ids', async (t) => {
  const s = set({ type: 'io.cozy.contacts', values: ['id1'] });
  t.ok(s.allow('POST', 'io.cozy.contacts', { _id: 'id1' }));
  t.notOk(s.allow('POST', 'io.cozy.contacts', { _id: 'id2' }));
  t.notOk(s.allow('POST', 'io.cozy.contacts'), 'without a document only whole-type rules can answer');
  t.notOk(s.allow('POST', 'io.cozy.contacts', { id: 'id1' }), 'the id is read from _id');
});

t.test('a rule with a selector compares the values with that field', async (t) => {
  const s = set({ type: 'io.cozy.contacts', selector: 'foo', values: ['bar'] });
  t.ok(s.allow('GET', 'io.cozy.contacts', { _id: 'x', foo: 'bar' }));
  t.notOk(s.allow('GET', 'io.cozy.contacts', { _id: 'x', foo: 'baz' }));
  t.notOk(s.allow('GET', 'io.cozy.contacts', { _id: 'bar' }), 'the id is not looked at');
  t.notOk(s.allow('GET', 'io.cozy.contacts', { _id: 'x', foo: { nested: 'bar' } }), 'an object never matches');

  const jobs = set({ type: 'io.cozy.jobs', verbs: ['POST'], selector: 'worker', values: ['sendmail'] });
  t.ok(jobs.allow('POST', 'io.cozy.jobs', { worker: 'sendmail' }));
  t.notOk(jobs.allow('POST', 'io.cozy.jobs', { worker: 'konnector' }));
});

t.test('an explicit _id selector behaves like no selector', async (t) => {
  const s = set({ type: 'io.cozy.contacts', selector: '_id', values: ['id1'] });
  t.ok(s.allow('GET', 'io.cozy.contacts', { _id: 'id1' }));
  t.ok(s.allowId('GET', 'io.cozy.contacts', 'id1'));
  t.ok(set({ type: 'io.cozy.contacts', values: ['id1'] }).isSubsetOf(s));
  t.ok(s.isSubsetOf(set({ type: 'io.cozy.contacts', values: ['id1', 'id2'] })));
});

t.test('an array field matches when any of its elements is among the values', async (t) => {
  const s = set({ type: 'io.cozy.files', verbs: ['GET'], selector: 'tags', values: ['holidays'] });
  t.ok(s.allow('GET', 'io.cozy.files', { _id: 'f1', tags: ['work', 'holidays'] }));
  t.notOk(s.allow('GET', 'io.cozy.files', { _id: 'f2', tags: ['work'] }));
  t.notOk(s.allow('GET', 'io.cozy.files', { _id: 'f3' }), 'a missing field never matches');
});

t.test('referenced_by values are doctype/id and match the document’s references', async (t) => {
  const s = set({ type: 'io.cozy.files', verbs: ['GET'], selector: 'referenced_by', values: ['io.cozy.photos.albums/123'] });
  const inAlbum = { _id: 'f1', referenced_by: [{ type: 'io.cozy.photos.albums', id: '123' }] };
  const elsewhere = { _id: 'f2', referenced_by: [{ type: 'io.cozy.photos.albums', id: '456' }] };
  const sameIdOtherType = { _id: 'f3', referenced_by: [{ type: 'io.cozy.contacts', id: '123' }] };
  t.ok(s.allow('GET', 'io.cozy.files', inAlbum));
  t.notOk(s.allow('GET', 'io.cozy.files', elsewhere));
  t.notOk(s.allow('GET', 'io.cozy.files', sameIdOtherType), 'the doctype of the reference counts');
  t.notOk(set({ type: 'io.cozy.files', selector: 'referenced_by', values: ['123'] }).allow('GET', 'io.cozy.files', inAlbum), 'a bare id is not a reference on a JSON document');
});

t.test('selector values are read the way cozy-stack fetches them', async (t) => {
  t.same(selectorValues({ _id: 'a' }), ['a'], 'the default selector is _id');
  t.same(selectorValues({ n: 3, b: true }, 'n'), ['3'], 'numbers are compared as text');
  t.same(selectorValues({ n: 3, b: true }, 'b'), ['true'], 'booleans are compared as text');
  t.same(selectorValues({ n: null }, 'n'), [], 'null yields nothing');
  t.same(selectorValues({ tags: ['a', 1, { x: 1 }] }, 'tags'), ['a', '1'], 'array elements that are not scalars are skipped');
  t.same(selectorValues({ referenced_by: [{ type: 't', id: 'i' }, { type: 't' }, 'junk'] }, 'referenced_by'), ['t/i'], 'malformed references are skipped');
  t.same(selectorValues({ referenced_by: 'x' }, 'referenced_by'), [], 'a referenced_by that is not a list yields nothing');
  t.same(selectorValues(undefined, 'x'), [], 'no document yields nothing');
  t.same(selectorValues({ a: { b: 'c' } }, 'a.b'), [], 'fields are top-level only, as in cozy’s JSONDoc.Get');
});

t.test('only a rule without values allows the whole type', async (t) => {
  t.ok(set({ type: 'io.cozy.contacts', verbs: ['GET'] }).allowWholeType('GET', 'io.cozy.contacts'));
  t.notOk(set({ type: 'io.cozy.contacts', verbs: ['GET'] }).allowWholeType('POST', 'io.cozy.contacts'), 'the verb still counts');
  t.notOk(set({ type: 'io.cozy.contacts', values: ['id1'] }).allowWholeType('GET', 'io.cozy.contacts'));
  t.ok(set({ type: 'io.cozy.bank.*' }).allowWholeType('GET', 'io.cozy.bank.accounts'), 'a wildcard without values covers whole types');
});

t.test('a rule on io.cozy.files with values does not grant the whole type', async (t) => {
  const s = set({ type: 'io.cozy.files', verbs: ['GET'], values: ['io.cozy.files.music-dir'] });
  t.notOk(s.allowWholeType('GET', 'io.cozy.files'), 'collection operations stay closed');
  t.notOk(s.allow('GET', 'io.cozy.files'), 'a check without a document is refused');
  t.notOk(s.allow('GET', 'io.cozy.files', { _id: 'other-dir' }), 'another document is refused');
  t.ok(s.allow('GET', 'io.cozy.files', { _id: 'io.cozy.files.music-dir' }), 'the named document is allowed');
});

t.test('allowId answers for whole-type and id rules, never for other selectors', async (t) => {
  t.ok(set({ type: 'io.cozy.contacts' }).allowId('GET', 'io.cozy.contacts', 'id1'));
  t.ok(set({ type: 'io.cozy.contacts', values: ['id1'] }).allowId('GET', 'io.cozy.contacts', 'id1'));
  t.notOk(set({ type: 'io.cozy.contacts', values: ['id1'] }).allowId('GET', 'io.cozy.contacts', 'id2'));
  t.notOk(set({ type: 'io.cozy.contacts', selector: 'foo', values: ['bar'] }).allowId('GET', 'io.cozy.contacts', 'id1'));
  t.notOk(set({ type: 'io.cozy.contacts', selector: 'foo', values: ['id1'] }).allowId('GET', 'io.cozy.contacts', 'id1'), 'a value of another field is not an id');
  t.notOk(set({ type: 'io.cozy.contacts', verbs: ['GET'], values: ['id1'] }).allowId('PUT', 'io.cozy.contacts', 'id1'), 'the verb still counts');
  t.notOk(set({ type: 'io.cozy.contacts', values: ['id1'] }).allowId('GET', 'io.cozy.files', 'id1'), 'the doctype still counts');
});

t.test('subsets follow cozy-stack’s TestSubset', async (t) => {
  const whole = set({ type: 'io.cozy.events' });
  t.ok(set({ type: 'io.cozy.events' }).isSubsetOf(whole), 'a set is a subset of an equal set');
  const fooBar = set({ type: 'io.cozy.events', values: ['foo', 'bar'] });
  t.ok(fooBar.isSubsetOf(whole), 'some documents are a subset of the whole type');
  const foo = set({ type: 'io.cozy.events', values: ['foo'] });
  t.ok(foo.isSubsetOf(fooBar), 'fewer values are a subset');
  t.notOk(fooBar.isSubsetOf(foo), 'more values are not a subset');
  const calFooBar = set({ type: 'io.cozy.events', selector: 'calendar', values: ['foo', 'bar'] });
  const calFoo = set({ type: 'io.cozy.events', selector: 'calendar', values: ['foo'] });
  t.ok(calFoo.isSubsetOf(calFooBar), 'fewer values on the same selector are a subset');
  t.notOk(calFooBar.isSubsetOf(calFoo), 'more values on the same selector are not a subset');
});

t.test('subsets follow cozy-stack’s TestShareSetPermissions for app parents', async (t) => {
  const files = set({ type: 'io.cozy.files' });
  const filesWildcard = set({ type: 'io.cozy.files.*' });
  const events = set({ type: 'io.cozy.events' });
  t.notOk(files.isSubsetOf(events), 'another doctype is not a subset');
  t.ok(files.isSubsetOf(files));
  t.notOk(filesWildcard.isSubsetOf(files), 'a wildcard is wider than its stem');
  t.ok(filesWildcard.isSubsetOf(filesWildcard));
  const childFile = set({ type: 'io.cozy.files', verbs: ['GET'], values: ['child-file-id'] });
  const driveRoot = set({ type: 'io.cozy.files', verbs: ['GET'], selector: 'id', values: ['drive-root-id'] });
  t.notOk(childFile.isSubsetOf(driveRoot), 'values on another selector are not a subset');
});

t.test('the subset check refuses every way of widening the parent', async (t) => {
  const parent = set({ type: 'io.cozy.contacts', verbs: ['GET'], values: ['id1', 'id2'] });
  t.ok(set({ type: 'io.cozy.contacts', verbs: ['GET'], values: ['id1'] }).isSubsetOf(parent), 'a narrower rule is accepted');
  t.notOk(set({ type: 'io.cozy.contacts', verbs: ['GET', 'DELETE'], values: ['id1'] }).isSubsetOf(parent), 'an extra verb is refused');
  t.notOk(set({ type: 'io.cozy.contacts', values: ['id1'] }).isSubsetOf(parent), 'no verbs (every verb) is refused');
  t.notOk(PermissionSet.fromManifest({ all: { type: 'io.cozy.contacts', verbs: ['ALL'], values: ['id1'] } }).isSubsetOf(parent), '["ALL"] is refused where cozy-stack’s ContainsAll would let it through');
  t.notOk(set({ type: 'io.cozy.contacts', verbs: ['GET'] }).isSubsetOf(parent), 'dropping the values restriction is refused');
  t.notOk(set({ type: 'io.cozy.contacts', verbs: ['GET'], values: ['id3'] }).isSubsetOf(parent), 'another value is refused');
  t.notOk(set({ type: 'io.cozy.contacts', verbs: ['GET'], selector: 'email', values: ['id1'] }).isSubsetOf(parent), 'the same values on another field are refused');
  t.notOk(set({ type: 'io.cozy.contacts.groups', verbs: ['GET'] }).isSubsetOf(parent), 'another doctype is refused');

  const bank = set({ type: 'io.cozy.bank.accounts', verbs: ['GET'] });
  t.notOk(set({ type: 'io.cozy.bank.*', verbs: ['GET'] }).isSubsetOf(bank), 'a wider wildcard type is refused');
  t.ok(bank.isSubsetOf(set({ type: 'io.cozy.bank.*' })), 'a doctype under the parent’s wildcard is accepted');
  t.ok(set({ type: 'io.cozy.bank.accounts.*' }).isSubsetOf(set({ type: 'io.cozy.bank.*' })), 'a deeper wildcard is accepted');
});

t.test('every rule of the child must fit in some rule of the parent', async (t) => {
  const parent = set({ type: 'io.cozy.contacts', verbs: ['GET'] }, { type: 'io.cozy.files', verbs: ['GET', 'POST'], values: ['dir1'] });
  t.ok(set({ type: 'io.cozy.contacts', verbs: ['GET'] }, { type: 'io.cozy.files', verbs: ['POST'], values: ['dir1'] }).isSubsetOf(parent));
  t.notOk(set({ type: 'io.cozy.contacts', verbs: ['GET'] }, { type: 'io.cozy.files', verbs: ['GET'] }).isSubsetOf(parent));
  t.ok(set().isSubsetOf(parent), 'an empty set grants nothing and is a subset');
});

t.test('a parent rule without values covers the whole type whatever its selector', async (t) => {
  const parent = set({ type: 'io.cozy.jobs', verbs: ['POST'], selector: 'worker' });
  t.ok(set({ type: 'io.cozy.jobs', verbs: ['POST'], selector: 'worker', values: ['sendmail'] }).isSubsetOf(parent));
  t.ok(set({ type: 'io.cozy.jobs', verbs: ['POST'] }).isSubsetOf(parent));
  t.ok(parent.allowWholeType('POST', 'io.cozy.jobs'), 'allow agrees: the rule has no values');
});

t.test('a maximal set is a parent of everything and the child of nothing', async (t) => {
  const maximal = PermissionSet.maximal();
  t.ok(set({ type: 'io.cozy.files' }, { type: 'io.cozy.bank.*' }).isSubsetOf(maximal));
  t.notOk(maximal.isSubsetOf(maximal), 'nobody may mint another maximal set');
  t.notOk(set({ type: 'io.cozy.files' }, { type: '*' }).isSubsetOf(set({ type: 'io.cozy.files' })));
  t.ok(maximal.includesRule(makeRule({ type: 'io.cozy.files' })), 'the maximal set includes any single rule');
});

t.test('includesRule answers for one rule as a PATCH add needs', async (t) => {
  const current = PermissionSet.fromScope('io.cozy.files:GET:dir1,dir2');
  t.ok(current.includesRule(PermissionSet.fromScope('io.cozy.files:GET:dir2').rules[0]));
  t.notOk(current.includesRule(PermissionSet.fromScope('io.cozy.files:GET,PUT:dir2').rules[0]));
});

t.test('a set reads and writes both forms', async (t) => {
  const manifest = {
    contacts: { type: 'io.cozy.contacts', verbs: ['GET'] },
    mail: { type: 'io.cozy.jobs', selector: 'worker', values: ['sendmail'] },
  };
  const fromManifest = PermissionSet.fromManifest(manifest);
  t.same(fromManifest.toManifest(), manifest);
  t.equal(JSON.stringify(fromManifest), JSON.stringify(manifest), 'JSON.stringify gives the manifest form');
  t.equal(fromManifest.toScope(), 'io.cozy.contacts:GET io.cozy.jobs:ALL:sendmail:worker');

  const fromScope = PermissionSet.fromScope('io.cozy.contacts:GET io.cozy.files:GET,POST:abc');
  t.equal(fromScope.toScope(), 'io.cozy.contacts:GET io.cozy.files:GET,POST:abc');
  t.same(fromScope.toManifest(), {
    rule0: { type: 'io.cozy.contacts', verbs: ['GET'] },
    rule1: { type: 'io.cozy.files', verbs: ['GET', 'POST'], values: ['abc'] },
  });
  t.ok(fromScope.allow('POST', 'io.cozy.files', { _id: 'abc' }));

  t.equal(PermissionSet.fromScope('*').toScope(), '*', 'the maximal scope round-trips');
  t.ok(PermissionSet.fromManifest(PermissionSet.maximal().toManifest(), { allowMaximal: true }).isMaximal());
});

t.test('building a set from bad input raises the parser’s 400', async (t) => {
  t.throws(() => PermissionSet.fromScope('io.cozy.*'), { status: 400, code: 'COZY_ERR_BAD_SCOPE' });
  t.throws(() => PermissionSet.fromManifest({ x: { type: 'io.cozy.files', verbs: ['FETCH'] } }), { code: 'COZY_ERR_BAD_SCOPE', message: /unknown verb "FETCH"/ });
});
