import t from 'tap';
import {
  applyPropPatch, conflictingLocks, decodeDavPath, encodePath, evaluateConditional, evaluateIf, locksBlockingWrite, MemoryLockStore,
  Multistatus, parseIfHeader, parseRange, parseTimeout, parseXml, readPropfind, readProppatch, serializeNodes, unsatisfiedLocks,
  withoutLocksWithin, el, Xml, type DavLock,
} from '../src/index.ts';

/** tap's typings want an Error; it matches the fields given. */
const BAD_REQUEST = { status: 400 } as unknown as Error;

const lock = (over: Partial<DavLock>): DavLock => ({
  token: 'urn:uuid:1', root: '/a', rootCollection: true, scope: 'exclusive', depth: 'infinity', timeoutSeconds: 60, expiresAt: Date.now() + 60_000, ...over,
});

t.test('If: header parsing', async (t) => {
  t.same(parseIfHeader('(<urn:a> ["x"]) (Not <DAV:no-lock>)'), [
    { resource: undefined, conditions: [{ not: false, token: 'urn:a' }, { not: false, etag: '"x"' }] },
    { resource: undefined, conditions: [{ not: true, token: 'DAV:no-lock' }] },
  ]);
  t.same(parseIfHeader('<http://h/a> (<urn:a>) (["e"]) <http://h/b> (Not ["f"])').map((l) => l.resource), ['http://h/a', 'http://h/a', 'http://h/b']);
  for (const bad of ['', 'x', '(', '()', '(<a>', '<http://h/a>', '(<a>) <http://h/> (<b>)', '(Nut <a>)', '([x)']) {
    t.throws(() => parseIfHeader(bad), BAD_REQUEST, JSON.stringify(bad));
  }
});

t.test('If: evaluation: tokens count as submitted only in a list that holds', async (t) => {
  const state = async () => ({ etag: '"e1"', lockTokens: ['urn:good'] });
  const r1 = await evaluateIf(parseIfHeader('(<urn:bad>) (Not <DAV:no-lock>)'), state);
  t.ok(r1.ok);
  t.same([...r1.submittedTokens], []);
  const r2 = await evaluateIf(parseIfHeader('(<urn:good> ["e1"])'), state);
  t.ok(r2.ok);
  t.same([...r2.submittedTokens], ['urn:good']);
  const r3 = await evaluateIf(parseIfHeader('(<urn:good> ["e2"]) (Not <DAV:no-lock> ["e2"])'), state);
  t.notOk(r3.ok);
  const r4 = await evaluateIf(parseIfHeader('(["e1"])'), async () => null);
  t.notOk(r4.ok, 'nothing matches a missing resource');
  const r5 = await evaluateIf(parseIfHeader('(W/"e1")'.replace('(', '([').replace(')', '])')), state);
  t.ok(r5.ok, 'etags compare weakly in If:');
});

t.test('conditional requests', async (t) => {
  const s = { exists: true, etag: '"a"', lastModified: new Date('2024-01-01T00:00:00.500Z') };
  t.equal(evaluateConditional({ 'if-match': '"a"' }, s, false), 'proceed');
  t.equal(evaluateConditional({ 'if-match': '"b", "a"' }, s, false), 'proceed');
  t.equal(evaluateConditional({ 'if-match': 'W/"a"' }, s, false), 'precondition-failed', 'If-Match compares strongly');
  t.equal(evaluateConditional({ 'if-match': '*' }, { exists: false }, false), 'precondition-failed');
  t.equal(evaluateConditional({ 'if-none-match': '*' }, s, false), 'precondition-failed');
  t.equal(evaluateConditional({ 'if-none-match': '*' }, { exists: false }, false), 'proceed');
  t.equal(evaluateConditional({ 'if-none-match': 'W/"a"' }, s, true), 'not-modified');
  t.equal(evaluateConditional({ 'if-modified-since': 'Mon, 01 Jan 2024 00:00:00 GMT' }, s, true), 'not-modified', 'second granularity');
  t.equal(evaluateConditional({ 'if-modified-since': 'Sun, 31 Dec 2023 23:59:59 GMT' }, s, true), 'proceed');
  t.equal(evaluateConditional({ 'if-unmodified-since': 'Sun, 31 Dec 2023 23:59:59 GMT' }, s, false), 'precondition-failed');
  t.equal(evaluateConditional({ 'if-none-match': '"b"', 'if-modified-since': 'Tue, 01 Jan 2030 00:00:00 GMT' }, s, true), 'proceed', 'If-None-Match wins over If-Modified-Since');
});

t.test('locks: coverage, conflicts, what a write must present', async (t) => {
  const infinite = lock({ token: 'urn:inf', root: '/a', depth: 'infinity' });
  const shallow = lock({ token: 'urn:zero', root: '/b', depth: '0' });
  const shared1 = lock({ token: 'urn:s1', root: '/c/f', rootCollection: false, scope: 'shared', depth: '0' });
  const shared2 = lock({ token: 'urn:s2', root: '/c/f', rootCollection: false, scope: 'shared', depth: '0' });
  const all = [infinite, shallow, shared1, shared2];
  t.same(conflictingLocks(all, '/a/x/y', 'shared', '0').map((l) => l.token), ['urn:inf']);
  t.same(conflictingLocks(all, '/c', 'exclusive', 'infinity').map((l) => l.token).sort(), ['urn:s1', 'urn:s2'], 'a depth-infinity lock conflicts with locks below');
  t.same(conflictingLocks(all, '/c/f', 'shared', '0'), [], 'shared locks coexist');
  t.same(locksBlockingWrite(all, { path: '/b/new', membership: true }).map((l) => l.token), ['urn:zero'], 'adding a member to a depth-0 locked collection');
  t.same(locksBlockingWrite(all, { path: '/b/new' }), [], 'but not changing an existing member');
  t.same(locksBlockingWrite(all, { path: '/c', recursive: true }).length, 2);
  t.same(unsatisfiedLocks([shared1, shared2], new Set(['urn:s2'])), [], 'one shared token opens the resource');
  t.same(unsatisfiedLocks([infinite, shared1], new Set(['urn:s1'])).map((l) => l.token), ['urn:inf']);
  t.same(withoutLocksWithin(all, '/c').map((l) => l.token), ['urn:inf', 'urn:zero']);
  t.equal(parseTimeout('Second-600'), 600);
  t.equal(parseTimeout('Infinite, Second-4100000000'), 3600);
  t.equal(parseTimeout('Second-4100000000'), 86_400);
  t.equal(parseTimeout('bogus'), 3600);
});

t.test('MemoryLockStore drops expired locks and serialises updates', async (t) => {
  const store = new MemoryLockStore();
  await store.update('ns', (l) => ({ locks: [...l, lock({ token: 'urn:old', expiresAt: Date.now() - 1 }), lock({ token: 'urn:new' })], result: undefined }));
  t.same((await store.list('ns')).map((l) => l.token), ['urn:new']);
  await t.rejects(store.update('ns', () => {
    throw new Error('conflict');
  }));
  t.same((await store.list('ns')).map((l) => l.token), ['urn:new'], 'a failed update changes nothing');
});

t.test('XML: namespaces resolved, DOCTYPE refused, limits', async (t) => {
  const root = parseXml('<D:propfind xmlns:D="DAV:" xmlns:a="urn:a"><D:prop><a:x/><x xmlns="urn:b"/><y xmlns=""/></D:prop></D:propfind>');
  t.same(readPropfind(root), { kind: 'prop', names: [{ ns: 'urn:a', name: 'x' }, { ns: 'urn:b', name: 'x' }, { ns: '', name: 'y' }] });
  t.same(readPropfind(undefined), { kind: 'allprop', include: [] });
  t.throws(() => parseXml('<!DOCTYPE x><x/>'), BAD_REQUEST);
  t.throws(() => parseXml('<x>&foo;</x>'), BAD_REQUEST);
  t.throws(() => parseXml('<a:x/>'), BAD_REQUEST);
  t.throws(() => parseXml(`${'<a>'.repeat(100)}${'</a>'.repeat(100)}`), BAD_REQUEST);
  t.throws(() => parseXml(`<a>${'<b/>'.repeat(30)}</a>`, { maxDepth: 64, maxElements: 20 }), BAD_REQUEST);
  t.throws(() => readPropfind(parseXml('<D:propfind xmlns:D="DAV:"><D:prop/><D:allprop/></D:propfind>')), BAD_REQUEST);
});

t.test('dead property values keep their namespaces through storage', async (t) => {
  const ops = readProppatch(parseXml(
    '<D:propertyupdate xmlns:D="DAV:" xmlns:z="urn:z"><D:set><D:prop><z:p xml:lang="fr"><z:a z:attr="1">t<b xmlns="">x</b></z:a> &amp; more</z:p></D:prop></D:set>' +
    '<D:remove><D:prop><z:gone/></D:prop></D:remove></D:propertyupdate>'));
  t.equal(ops.length, 2);
  const set = ops[0];
  if (set.op !== 'set') throw new Error('expected a set');
  t.equal(set.property.lang, 'fr');
  t.equal(set.property.xml, '<a xmlns="urn:z" xmlns:a0="urn:z" a0:attr="1">t<b xmlns="">x</b></a> &amp; more');
  // Pasted anywhere, the stored value parses back to the same names.
  const again = parseXml(`<w xmlns="urn:other">${set.property.xml}</w>`);
  t.same(serializeNodes(again.children), set.property.xml);
  t.same(applyPropPatch([{ ns: 'urn:z', name: 'gone', xml: '' }], ops).map((p) => p.name), ['p']);
});

t.test('paths, hrefs and ranges', async (t) => {
  t.equal(decodeDavPath('/a/%C3%A9t%C3%A9/b%20c'), '/a/été/b c');
  t.equal(decodeDavPath(''), '/');
  t.equal(decodeDavPath('//a//b/'), '/a/b');
  for (const bad of ['/%zz', '/a%2Fb', '/%00', '/..', '/a/./b', '/%C3%28', '/a#b']) t.throws(() => decodeDavPath(bad), BAD_REQUEST, bad);
  t.equal(encodePath('/a b/été', true), '/a%20b/%C3%A9t%C3%A9/');
  t.equal(encodePath("/it's (1)*", false), '/it%27s%20%281%29%2A');
  t.same(parseRange('bytes=0-0', 10), { start: 0, end: 0 });
  t.same(parseRange('bytes=-20', 10), { start: 0, end: 9 });
  t.equal(parseRange('bytes=10-', 10), 'unsatisfiable');
  t.equal(parseRange('bytes=0-1,3-4', 10), undefined, 'several ranges: the whole content');
  t.equal(parseRange('items=0-1', 10), undefined);
});

t.test('multistatus documents', async (t) => {
  const ms = new Multistatus()
    .addPropStats('/d/a', [{ status: 200, props: [el({ ns: 'urn:x', name: 'p' }, 'v<')] }, { status: 404, props: [] }])
    .addStatus(['/d/b', '/d/c'], 423, '<D:lock-token-submitted/>');
  const doc = ms.toString();
  t.match(doc, /^<\?xml version="1.0" encoding="utf-8"\?>\n<D:multistatus xmlns:D="DAV:">/);
  t.match(doc, /<p xmlns="urn:x">v&lt;<\/p>/);
  t.notMatch(doc, /404/, 'empty propstats are left out');
  t.match(doc, /<D:href>\/d\/b<\/D:href><D:href>\/d\/c<\/D:href><D:status>HTTP\/1.1 423 Locked<\/D:status><D:error><D:lock-token-submitted\/><\/D:error>/);
  const parsed = parseXml(doc);
  t.equal(parsed.name, 'multistatus');
  t.equal(new Xml('<a/>').toString(), '<a/>');
});

t.test('Destination: same host whatever the scheme (TLS proxies), another host or port is 502', async (t) => {
  const { DavCore, MemoryBackend, MemoryLockStore } = await import('../src/index.ts');
  const { Readable } = await import('node:stream');
  const core = new DavCore({ locks: new MemoryLockStore() });
  const backend = new MemoryBackend();
  const req = (method: string, path: string, headers: Record<string, string>) => ({
    method, path, headers, body: Readable.from([]), mount: '/dav', origin: 'http://cozy.example', signal: new AbortController().signal,
  });
  await core.handle({ request: req('PUT', '/a.txt', {}), backend, namespace: 'ns' });
  const copy = (destination: string) => core.handle({ request: req('COPY', '/a.txt', { destination }), backend, namespace: 'ns' }).then((r) => r.status, (e: { status: number }) => e.status);
  t.equal(await copy('https://cozy.example/dav/b.txt'), 201);
  t.equal(await copy('http://COZY.example/dav/c.txt'), 201);
  t.equal(await copy('/dav/d.txt'), 201);
  t.equal(await copy('https://other.example/dav/e.txt'), 502);
  t.equal(await copy('https://cozy.example.evil/dav/e.txt'), 502);
  t.equal(await copy('ftp://cozy.example/dav/e.txt'), 502);
  t.equal(await copy('https://cozy.example/elsewhere/e.txt'), 403);
});
