import t from 'tap';
import { CozyError } from '../src/errors.ts';
import {
  isValidDoctypeName,
  parseManifest,
  parseManifestRule,
  parseScope,
  parseScopeRule,
  PermissionErrors,
  ruleToJSON,
  ruleToScope,
  rulesToManifest,
  rulesToScope,
  verbForMethod,
  VerbSet,
  makeRule,
} from '../src/permissions/index.ts';

/** Runs `fn` and returns the CozyError it throws, so the test can look at its status, code and detail. */
function refusal(fn: () => unknown): CozyError {
  try {
    fn();
  } catch (err) {
    if (err instanceof CozyError) return err;
    throw err;
  }
  throw new Error('the input was accepted');
}

/** The shape every parse refusal has: a 400 with cozy-stack's text, then the refused part. */
function badScope(detail: RegExp) {
  return { status: 400, code: PermissionErrors.badScope.code, detail };
}

t.test('doctype names follow cozy-stack’s CheckDoctypeName', async (t) => {
  t.ok(isValidDoctypeName('io.cozy.files', false), 'a plain doctype is valid');
  t.ok(isValidDoctypeName('io.cozy.account_types', false), 'underscores are allowed');
  t.notOk(isValidDoctypeName('IO.COZY.FILES', false), 'upper case is refused');
  t.notOk(isValidDoctypeName('io.cozy.account-types', false), 'dashes are refused');
  t.notOk(isValidDoctypeName('.io.cozy.files', false), 'a leading dot is refused');
  t.notOk(isValidDoctypeName('io.cozy.files.', false), 'a trailing dot is refused');
  t.notOk(isValidDoctypeName('io.cozy.files.*', false), 'a wildcard is refused where none is allowed');
  t.notOk(isValidDoctypeName('io..cozy..files', false), 'two dots in a row are refused');
  t.notOk(isValidDoctypeName('*', false), 'a lone star is refused');
  t.notOk(isValidDoctypeName('', false), 'an empty name is refused');

  t.ok(isValidDoctypeName('io.cozy.files', true), 'a plain doctype is valid where wildcards are allowed');
  t.ok(isValidDoctypeName('io.cozy.banks.*', true), 'a wildcard with three dots is valid');
  t.ok(isValidDoctypeName('io.cozy.files.*', true), 'a wildcard on files is valid');
  t.notOk(isValidDoctypeName('io.cozy.*', true), 'a wildcard on io.cozy is too wide');
  t.notOk(isValidDoctypeName('com.bitwarden.*', true), 'a wildcard on a two-part name is too wide');
  t.notOk(isValidDoctypeName('*', true), 'a lone star is not a doctype name even with wildcards');
  t.notOk(isValidDoctypeName('io.cozy.Bank.*', true), 'the stem of a wildcard is checked too');
});

t.test('verb sets print as cozy-stack prints them', async (t) => {
  t.equal(VerbSet.of('DELETE', 'GET').toString(), 'GET,DELETE', 'verbs come in cozy’s order');
  t.equal(VerbSet.all().toString(), 'ALL', 'all five verbs print as ALL');
  t.equal(VerbSet.unrestricted().toString(), 'ALL', 'an empty set prints as ALL');
  t.equal(parseScopeRule('io.cozy.files:ALL').verbs.toString(), 'ALL', 'ALL read from a scope prints as ALL');
  t.same(VerbSet.all().toArray(), ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'], 'ALL in a scope spells out every verb');
  t.same(VerbSet.unrestricted().toArray(), [], 'an unrestricted set lists no verb');
});

t.test('an empty verb set grants every verb and HEAD counts as GET', async (t) => {
  const all = VerbSet.unrestricted();
  for (const verb of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD'] as const) t.ok(all.has(verb), `${verb} is granted`);
  const read = VerbSet.of('GET');
  t.ok(read.has('HEAD'), 'HEAD is granted by GET');
  t.notOk(read.has('POST'), 'POST is not granted by GET');
  t.ok(read.isReadOnly(), 'GET alone is read-only');
  t.notOk(all.isReadOnly(), 'an unrestricted set is not read-only');
  t.notOk(VerbSet.of('PUT').has('HEAD'), 'HEAD is not granted without GET');
});

t.test('request methods map to the verb they are checked with', async (t) => {
  t.equal(verbForMethod('HEAD'), 'GET', 'HEAD is checked as GET');
  t.equal(verbForMethod('patch'), 'PATCH', 'the method name is case-insensitive');
  t.equal(verbForMethod('OPTIONS'), undefined, 'OPTIONS is no verb a rule can grant');
});

t.test('verb-set inclusion treats the empty set as every verb', async (t) => {
  t.ok(VerbSet.unrestricted().containsAll(VerbSet.of('GET', 'DELETE')), 'everything contains GET,DELETE');
  t.ok(VerbSet.of('GET', 'POST').containsAll(VerbSet.of('GET')), 'GET,POST contains GET');
  t.notOk(VerbSet.of('GET').containsAll(VerbSet.of('GET', 'POST')), 'GET does not contain GET,POST');
  t.notOk(VerbSet.of('GET').containsAll(VerbSet.unrestricted()), 'GET does not contain an unrestricted set');
  t.ok(VerbSet.all().containsAll(VerbSet.unrestricted()), 'five spelled-out verbs contain an unrestricted set');
});

t.test('a rule serialises to cozy-stack’s JSON shape', async (t) => {
  const rule = makeRule({ type: 'io.cozy.contacts', verbs: ['GET', 'POST'] });
  t.equal(JSON.stringify(ruleToJSON(rule)), '{"type":"io.cozy.contacts","verbs":["GET","POST"]}');
});

const manifestSample = {
  images: {
    type: 'io.cozy.files',
    description: 'Required for the background',
    verbs: ['GET'],
    values: ['io.cozy.files.music-dir'],
  },
  contacts: {
    type: 'io.cozy.contacts',
    description: 'Required for autocompletion on @name',
    verbs: ['GET'],
  },
  mail: {
    type: 'io.cozy.jobs',
    description: 'Required to send a congratulations email to your friends',
    selector: 'worker',
    values: ['sendmail'],
  },
};

t.test('a set of rules serialises to the manifest form with cozy-stack’s key order', async (t) => {
  const rules = [
    makeRule({ title: 'images', description: 'Required for the background', type: 'io.cozy.files', verbs: ['GET'], values: ['io.cozy.files.music-dir'] }),
    makeRule({ title: 'contacts', description: 'Required for autocompletion on @name', type: 'io.cozy.contacts', verbs: ['GET'] }),
    makeRule({ title: 'mail', description: 'Required to send a congratulations email to your friends', type: 'io.cozy.jobs', selector: 'worker', values: ['sendmail'] }),
  ];
  t.equal(JSON.stringify(rulesToManifest(rules)), JSON.stringify(manifestSample));
});

t.test('the manifest form parses in key order and keeps titles', async (t) => {
  const rules = parseManifest({ ...manifestSample, images: { ...manifestSample.images, verbs: ['ALL'] } });
  t.same(rules.map((r) => r.title), ['images', 'contacts', 'mail'], 'the titles come in key order');
  t.ok(rules[0].verbs.isAll(), '["ALL"] grants every verb');
  t.same(rules[0].verbs.toArray(), [], '["ALL"] is stored as no explicit verb, as cozy does');
  t.equal(rules[2].selector, 'worker', 'the selector is kept');
  t.same(rules[2].values, ['sendmail'], 'the values are kept');
  t.ok(rules[2].verbs.isAll(), 'a rule without verbs grants every verb');
});

t.test('the manifest form round-trips unchanged', async (t) => {
  t.same(rulesToManifest(parseManifest(manifestSample)), manifestSample);
});

t.test('a manifest verb list is read like cozy-stack’s VerbSet.UnmarshalJSON', async (t) => {
  const [getPut] = parseManifest({ contacts: { type: 'io.cozy.contacts', verbs: ['GET', 'PUT'] } });
  t.same(getPut.verbs.toArray(), ['GET', 'PUT'], 'listed verbs are kept');
  const [allGet] = parseManifest({ contacts: { type: 'io.cozy.contacts', verbs: ['ALL', 'GET'] } });
  t.same(allGet.verbs.toArray(), [], 'ALL anywhere in the list means every verb');
  const [empty] = parseManifest({ contacts: { type: 'io.cozy.contacts', verbs: [] } });
  t.ok(empty.verbs.isAll(), 'an empty list means every verb');
});

t.test('an unknown verb in the manifest form is refused with its name and its rule', async (t) => {
  const err = refusal(() => parseManifest({ contacts: { type: 'io.cozy.contacts', verbs: ['BAD'] } }));
  t.match(err, badScope(/unknown verb "BAD"/), 'the detail names the verb');
  t.match(err.detail, /permission "contacts"/, 'the detail names the rule');
  t.match(err.message, /^Permission scope is empty or malformed/, 'the message keeps cozy-stack’s text');
  t.match(refusal(() => parseManifest({ c: { type: 'io.cozy.contacts', verbs: ['ALL', 'BAD'] } })), badScope(/"BAD"/), 'ALL does not hide a bad verb');
  t.match(refusal(() => parseManifest({ c: { type: 'io.cozy.contacts', verbs: ['get'] } })), badScope(/"get"/), 'verbs are upper case');
  t.match(refusal(() => parseManifest({ c: { type: 'io.cozy.contacts', verbs: ['HEAD'] } })), badScope(/"HEAD"/), 'HEAD is implied, not written');
});

t.test('a manifest rule on a too-wide wildcard or a bad doctype is refused', async (t) => {
  t.match(refusal(() => parseManifest({ all: { type: 'io.cozy.*' } })), badScope(/"io\.cozy\.\*" is not a valid doctype name/));
  t.match(refusal(() => parseManifest({ x: { type: 'IO.COZY.FILES' } })), badScope(/"IO\.COZY\.FILES"/));
  t.match(refusal(() => parseManifest({ x: { type: '' } })), badScope(/"" is not a valid doctype name/));
  t.equal(parseManifest({ bank: { type: 'io.cozy.bank.*' } })[0].type, 'io.cozy.bank.*', 'a three-dot wildcard is accepted');
});

t.test('the maximal type is refused in a manifest unless the caller reads a stored flagship set', async (t) => {
  t.match(refusal(() => parseManifest({ all: { type: '*' } })), badScope(/"\*" is not a valid doctype name/));
  t.equal(parseManifest({ all: { type: '*' } }, { allowMaximal: true })[0].type, '*');
});

t.test('a manifest of the wrong shape is refused with a clear detail', async (t) => {
  t.match(refusal(() => parseManifest(['io.cozy.files'])), badScope(/object of named rules/));
  t.match(refusal(() => parseManifest(null)), badScope(/object of named rules/));
  t.match(refusal(() => parseManifest({ files: 'io.cozy.files' })), badScope(/a rule must be an object/));
  t.match(refusal(() => parseManifest({ files: { verbs: ['GET'] } })), badScope(/"type" is missing/));
  t.match(refusal(() => parseManifest({ files: { type: 3 } })), badScope(/"type" must be a string/));
  t.match(refusal(() => parseManifest({ files: { type: 'io.cozy.files', verbs: 'GET' } })), badScope(/"verbs" must be a list/));
  t.match(refusal(() => parseManifest({ files: { type: 'io.cozy.files', values: [1] } })), badScope(/"values" must be a list/));
  t.match(refusal(() => parseManifest({ files: { type: 'io.cozy.files', selector: ['a'] } })), badScope(/"selector" must be a string/));
});

t.test('null and empty optional fields in a manifest read as absent', async (t) => {
  const rule = parseManifestRule('files', {
    type: 'io.cozy.files',
    verbs: null,
    values: [],
    selector: '',
    description: null,
    extra: 'ignored as cozy ignores unknown fields',
  });
  t.same(ruleToJSON(rule), { type: 'io.cozy.files' });
});

t.test('untitled rules are named rule<index> in the manifest form and clashing names get a suffix', async (t) => {
  const manifest = rulesToManifest([
    makeRule({ type: 'io.cozy.contacts' }),
    makeRule({ title: 'rule0', type: 'io.cozy.files' }),
  ]);
  t.same(Object.keys(manifest), ['rule0', 'rule0-2']);
});

t.test('a set serialises to cozy-stack’s scope string', async (t) => {
  const rules = [
    makeRule({ title: 'contacts', type: 'io.cozy.contacts', description: 'Required for autocompletion on @name' }),
    makeRule({ title: 'images', type: 'io.cozy.files', verbs: ['GET'], values: ['io.cozy.files.music-dir'] }),
    makeRule({ title: 'sendmail', type: 'io.cozy.jobs', selector: 'worker', values: ['sendmail'] }),
  ];
  t.equal(
    rulesToScope(rules),
    'io.cozy.contacts io.cozy.files:GET:io.cozy.files.music-dir io.cozy.jobs:ALL:sendmail:worker',
  );
  t.equal(rulesToScope([]), '', 'an empty set is an empty scope');
});

t.test('a scope string parses into rules', async (t) => {
  const rules = parseScope('io.cozy.contacts io.cozy.files:GET:io.cozy.files.music-dir');
  t.equal(rules.length, 2);
  t.equal(rules[0].type, 'io.cozy.contacts');
  t.ok(rules[0].verbs.isAll(), 'a rule without verbs grants every verb');
  t.equal(rules[0].values, undefined, 'a rule without values has none');
  t.equal(rules[1].type, 'io.cozy.files');
  t.same(rules[1].verbs.toArray(), ['GET']);
  t.same(rules[1].values, ['io.cozy.files.music-dir']);

  const rule = parseScopeRule('io.cozy.events:GET:mygreatcalendar,othercalendar:calendar-id');
  t.equal(rule.type, 'io.cozy.events');
  t.same(rule.verbs.toArray(), ['GET']);
  t.same(rule.values, ['mygreatcalendar', 'othercalendar']);
  t.equal(rule.selector, 'calendar-id');

  t.same(parseScopeRule('io.cozy.files:GET,POST:abc').verbs.toArray(), ['GET', 'POST'], 'verbs are comma-separated');
  t.same(parseScopeRule('io.cozy.files:POST,ALL').verbs.toArray(), [], 'ALL in a verb list means every verb');
  t.equal(parseScopeRule('io.cozy.bank.*:GET').type, 'io.cozy.bank.*', 'a three-dot wildcard is accepted');
});

t.test('a scope of exactly * is the maximal set', async (t) => {
  const rules = parseScope('*');
  t.equal(rules.length, 1);
  t.equal(rules[0].type, '*');
});

t.test('malformed scope strings give a 400 naming the bad part', async (t) => {
  t.match(refusal(() => parseScope('')), badScope(/the scope is empty/));
  t.match(refusal(() => parseScopeRule('')), badScope(/"" is not a valid doctype name/));
  t.match(refusal(() => parseScopeRule('*')), badScope(/rule "\*"/), 'a star as one rule among others is refused');
  t.match(refusal(() => parseScope('io.cozy.files *')), badScope(/"\*" is not a valid doctype name/));
  t.match(refusal(() => parseScopeRule('type:verb:selec:value:wtf')), badScope(/more than 4 parts.*rule "type:verb:selec:value:wtf"/));
  t.match(refusal(() => parseScope('io.cozy.*:GET')), badScope(/"io\.cozy\.\*" is not a valid doctype name/));
  t.match(refusal(() => parseScope('io.cozy.contacts io.cozy.files:GET,FETCH')), badScope(/unknown verb "FETCH".*rule "io\.cozy\.files:GET,FETCH"/));
  t.match(refusal(() => parseScope('io.cozy.files:get')), badScope(/unknown verb "get"/));
  t.match(refusal(() => parseScope('io.cozy.files:GET,')), badScope(/unknown verb ""/));
  t.match(refusal(() => parseScope('io.cozy.files:')), badScope(/empty verbs/));
  t.match(refusal(() => parseScope('io.cozy.files:GET:')), badScope(/empty values/));
  t.match(refusal(() => parseScope('io.cozy.files:GET:a,,b')), badScope(/empty value/));
  t.match(refusal(() => parseScope('io.cozy.files:GET:a:')), badScope(/empty selector/));
  t.match(refusal(() => parseScope('io.cozy.files  io.cozy.contacts')), badScope(/rule ""/), 'two spaces leave an empty rule');
  t.match(refusal(() => parseScope('@io.cozy.apps/drive')), badScope(/"@io\.cozy\.apps\/drive" is not a valid doctype name/));
});

t.test('the scope form round-trips', async (t) => {
  for (const scope of [
    'io.cozy.contacts',
    'io.cozy.files:GET:io.cozy.files.music-dir',
    'io.cozy.jobs:POST:sendmail:worker',
    'io.cozy.events:GET,PUT:cal1,cal2:calendar-id',
    'io.cozy.files:ALL',
    'io.cozy.bank.*:GET io.cozy.files:GET,POST:abc',
    'io.cozy.files:GET:io.cozy.photos.albums/123:referenced_by',
  ]) {
    t.equal(rulesToScope(parseScope(scope)), scope, scope);
  }
});

t.test('manifest rules convert to a scope string and back, losing only titles and descriptions', async (t) => {
  const rules = parseManifest(manifestSample);
  const scope = rulesToScope(rules);
  t.equal(scope, 'io.cozy.files:GET:io.cozy.files.music-dir io.cozy.contacts:GET io.cozy.jobs:ALL:sendmail:worker');
  const back = parseScope(scope);
  t.same(back.map((r) => [r.type, r.verbs.toString(), r.values, r.selector]), rules.map((r) => [r.type, r.verbs.toString(), r.values, r.selector]));
  t.same(back.map((r) => r.title), [undefined, undefined, undefined], 'scope rules have no title');
});

t.test('a selector without values is left out of the scope form', async (t) => {
  t.equal(ruleToScope(makeRule({ type: 'io.cozy.jobs', verbs: ['POST'], selector: 'worker' })), 'io.cozy.jobs:POST');
  t.equal(ruleToScope(makeRule({ type: 'io.cozy.jobs', selector: 'worker' })), 'io.cozy.jobs');
});

t.test('values that would break the scope syntax cannot be written as a scope', async (t) => {
  t.match(refusal(() => ruleToScope(makeRule({ type: 'io.cozy.files', values: ['a:b'] }))), badScope(/value "a:b"/));
  t.match(refusal(() => ruleToScope(makeRule({ type: 'io.cozy.files', values: ['a,b'] }))), badScope(/value "a,b"/));
  t.match(refusal(() => ruleToScope(makeRule({ type: 'io.cozy.files', values: ['a b'] }))), badScope(/value "a b"/));
  t.match(refusal(() => ruleToScope(makeRule({ type: 'io.cozy.files', values: ['a'], selector: 'x:y' }))), badScope(/selector "x:y"/));
});
