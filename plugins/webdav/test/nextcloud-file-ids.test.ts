import { randomBytes } from 'node:crypto';
import t from 'tap';
import { FILES, FILES_DOCTYPE, ROOT_DIR_ID, TRASH_DIR_ID, isCozyError, type InstanceRef } from '@cozy-ts/kernel';
import { davFileId, docIdOfNumber, nextcloudInstanceId, numericFileId, parseClientFileId } from '../src/nextcloud/file-ids.ts';
import { raw, startTwoDavProcesses, startWebdav } from './helpers.ts';

const OC = 'http://owncloud.org/ns';
const PROPS = `<?xml version="1.0"?><d:propfind xmlns:d="DAV:" xmlns:oc="${OC}"><d:prop><oc:id/><oc:fileid/><d:getetag/></d:prop></d:propfind>`;
const LONG_MAX = 2n ** 63n - 1n;

/** Kotlin's String.toLong() (what the Android library's WebdavEntry calls on oc:fileid): throws on anything else. */
function kotlinToLong(text: string): bigint {
  if (!/^[+-]?\d+$/.test(text)) throw new Error(`NumberFormatException: ${text}`);
  const n = BigInt(text);
  if (n > LONG_MAX || n < -LONG_MAX - 1n) throw new Error(`NumberFormatException: ${text}`);
  return n;
}

/** The desktop client's SyncJournalFileRecord::numericFileId: oc:id up to its first non-digit. */
function desktopNumericId(ocId: string): string {
  return /^\d*/.exec(ocId)?.[0] ?? '';
}

/** oc:id and oc:fileid of every response of a PROPFIND multistatus, by decoded href. */
function idsOf(body: string): Map<string, { id: string; fileid: string }> {
  const out = new Map<string, { id: string; fileid: string }>();
  for (const [, r] of body.matchAll(/<D:response>([\s\S]*?)<\/D:response>/g)) {
    const href = decodeURIComponent(/<D:href>([^<]*)<\/D:href>/.exec(r as string)?.[1] ?? '');
    const get = (name: string) => new RegExp(`<${name} xmlns="${OC}">([^<]*)</${name}>`).exec(r as string)?.[1] ?? '';
    out.set(href, { id: get('id'), fileid: get('fileid') });
  }
  return out;
}

const hexId = () => randomBytes(16).toString('hex');
const inst = (prefix: string): InstanceRef => ({ domain: `${prefix}.example`, prefix });

t.test('the numbers: safe integers, never 0, from the id alone', async (t) => {
  const ids = Array.from({ length: 2000 }, hexId);
  const numbers = ids.map(numericFileId);
  for (const n of numbers) {
    if (!Number.isSafeInteger(n) || n < 2 ** 52) t.fail(`${n} is out of the hex ids' range`);
  }
  t.equal(new Set(numbers).size, ids.length, 'distinct for distinct random ids');
  t.same(ids.map(numericFileId), numbers, 'the same again');
  t.ok(numbers.every((n) => kotlinToLong(String(n)) === BigInt(n)), 'Kotlin toLong() reads them back');
  const id = hexId();
  t.equal(numericFileId(`${id.slice(0, 13)}${'0'.repeat(19)}`), numericFileId(id), 'only the first 13 hex digits count');
  t.not(numericFileId(`${id.slice(0, 12)}${id[12] === 'a' ? 'b' : 'a'}${id.slice(13)}`), numericFileId(id), 'the 13th does');
  t.equal(numericFileId('0'.repeat(32)), 2 ** 52, 'an id of zeros is no 0');
  t.equal(numericFileId('f'.repeat(32)), Number.MAX_SAFE_INTEGER);

  const known = [ROOT_DIR_ID, TRASH_DIR_ID, 'io.cozy.files.shared-with-me-dir', 'io.cozy.files.no-longer-shared-dir', 'io.cozy.files.shared-drives-dir'];
  const small = known.map(numericFileId);
  t.equal(new Set(small).size, known.length, 'the well-known directories have distinct numbers');
  t.ok(small.every((n) => n > 0 && n < 1024), `small ones (${small.join(', ')})`);
  for (const other of ['imported-file-0001', 'ABCDEF0123456789ABCDEF0123456789', 'io.cozy.files.something-else', '12345']) {
    const n = numericFileId(other);
    t.ok(Number.isSafeInteger(n) && n >= 1024 && n < 2 ** 52, `${other}: ${n}, between the well-known and the hex ones`);
  }
});

t.test("oc:id: Nextcloud's padded number and instance id; client ids read back", async (t) => {
  const a = inst('aaaa1111');
  const suffix = nextcloudInstanceId(a);
  t.match(suffix, /^oc[a-z0-9]{10}$/, 'the shape of Nextcloud\'s instance ids');
  t.equal(nextcloudInstanceId(inst('aaaa1111')), suffix, 'stable');
  t.not(nextcloudInstanceId(inst('bbbb2222')), suffix, 'one per instance');
  t.equal(davFileId(ROOT_DIR_ID, a), `0000000${numericFileId(ROOT_DIR_ID)}${suffix}`, 'padded to 8 digits');
  const id = hexId();
  const ocId = davFileId(id, a);
  t.equal(desktopNumericId(ocId), String(numericFileId(id)), "the desktop client's numeric id is oc:fileid");

  t.same(parseClientFileId(String(numericFileId(id)), a), { number: numericFileId(id) }, 'oc:fileid');
  t.same(parseClientFileId(ocId, a), { number: numericFileId(id) }, 'oc:id');
  t.same(parseClientFileId(davFileId(ROOT_DIR_ID, a), a), { number: numericFileId(ROOT_DIR_ID) }, 'a padded oc:id');
  t.same(parseClientFileId(id, a), { docId: id }, 'a document id, as before');
  t.same(parseClientFileId(ROOT_DIR_ID, a), { docId: ROOT_DIR_ID });
  t.same(parseClientFileId(davFileId(id, inst('bbbb2222')), a), { docId: davFileId(id, inst('bbbb2222')) }, 'another instance\'s oc:id is no number here');
  for (const text of ['0', '00000000', '9007199254740992', '12345678901234567890123456789012', '-5', '1e5', ' 12']) {
    t.ok('docId' in parseClientFileId(text, a), `${JSON.stringify(text)} is no file number`);
  }
});

t.test('mapped back through the files database', async (t) => {
  const env = await startWebdav(t, {}, {}, { '@cozy-ts/plugin-files': { versions: { maxNumber: 20, minDelaySeconds: 0 } } });
  const files = env.tk.kernel.container.resolve(FILES.token);
  const store = env.tk.kernel.store;
  const nc = (path: string) => `/remote.php/dav/files/me${path}`;
  const V = '/remote.php/dav/versions/me/versions';

  t.equal((await raw(env, 'MKCOL', nc('/dir'))).status, 201);
  const put = await raw(env, 'PUT', nc('/dir/f.txt'), { 'x-oc-mtime': '1700000000' }, 'one');
  t.equal(put.status, 201);
  t.equal((await raw(env, 'PUT', nc('/dir/f.txt'), { 'x-oc-mtime': '1700000100' }, 'two')).status, 204);
  const doc = await files.statByPath(env.inst, '/dir/f.txt');
  const n = numericFileId(doc._id);

  await t.test('every entry of a listing parses as a Long, and oc:id, OC-FileId agree with it', async (t) => {
    const res = await raw(env, 'PROPFIND', nc('/'), { depth: '1', 'content-type': 'application/xml' }, PROPS);
    t.equal(res.status, 207);
    const listed = idsOf(res.body);
    t.same([...listed.keys()].sort(), [nc('/'), nc('/dir/')]);
    const sub = idsOf((await raw(env, 'PROPFIND', nc('/dir/'), { depth: '1' }, PROPS)).body);
    for (const [href, { id, fileid }] of [...listed, ...sub]) {
      t.doesNotThrow(() => kotlinToLong(fileid), `${href}: oc:fileid ${fileid}`);
      t.ok(Number(fileid) > 0 && Number.isSafeInteger(Number(fileid)));
      t.equal(desktopNumericId(id), fileid.padStart(8, '0'), `${href}: oc:id ${id}`);
    }
    t.equal(listed.get(nc('/'))?.fileid, String(numericFileId(ROOT_DIR_ID)), 'the root');
    t.equal(sub.get(nc('/dir/f.txt'))?.fileid, String(n));
    t.equal(put.headers['oc-fileid'], sub.get(nc('/dir/f.txt'))?.id, 'OC-FileId is oc:id');
    t.equal(await docIdOfNumber(store, env.inst, Number(sub.get(nc('/dir/'))?.fileid)), (await files.statByPath(env.inst, '/dir'))._id);
    t.equal(await docIdOfNumber(store, env.inst, numericFileId(TRASH_DIR_ID)), TRASH_DIR_ID);
  });

  await t.test('versions/<fileid>: the number, oc:id and the document id all name the file', async (t) => {
    for (const id of [String(n), davFileId(doc._id, env.inst), doc._id]) {
      const res = await raw(env, 'PROPFIND', `${V}/${id}`, { depth: '1' });
      t.equal(res.status, 207, id);
      t.match(res.body, `${V}/${id}/1700000000`, 'the old content is listed');
    }
    t.equal((await raw(env, 'GET', `${V}/${n}/1700000000`)).body, 'one');
    const nobody = 2 ** 52 + Number.parseInt(doc._id.slice(0, 13), 16) + 1;
    t.equal(await docIdOfNumber(store, env.inst, nobody), null);
    t.equal((await raw(env, 'PROPFIND', `${V}/${nobody}`, { depth: '1' })).status, 404, 'a number nobody has');
    t.equal((await raw(env, 'PROPFIND', `${V}/${numericFileId(ROOT_DIR_ID)}`, { depth: '1' })).status, 404, 'a folder has no versions');
  });

  await t.test('two documents with the same first 13 hex digits: 409, never the wrong file', async (t) => {
    const twin = `${doc._id.slice(0, 13)}${'0'.repeat(19)}`;
    t.not(twin, doc._id);
    const written = await store.put(env.inst, FILES_DOCTYPE, { _id: twin, type: 'file', name: 'twin', dir_id: ROOT_DIR_ID });
    const refused = await docIdOfNumber(store, env.inst, n).then(() => 0, (err: unknown) => (isCozyError(err) ? err.status : -1));
    t.equal(refused, 409);
    t.equal((await raw(env, 'PROPFIND', `${V}/${n}`, { depth: '1' })).status, 409);
    t.equal((await raw(env, 'GET', `${V}/${n}/1700000000`)).status, 409);
    t.equal((await raw(env, 'PROPFIND', `${V}/${doc._id}`, { depth: '1' })).status, 207, 'the document id still works');
    await store.delete(env.inst, FILES_DOCTYPE, twin, written.rev);
    t.equal(await docIdOfNumber(store, env.inst, n), doc._id, 'one again once the other is gone');
  });

  await t.test('ids of another shape are found by going through the ids, page by page', async (t) => {
    const imported = ['imported-0001', 'imported-0002', 'Zz-other-id'];
    const docs = await store.bulkDocs(env.inst, FILES_DOCTYPE, imported.map((_id) => ({ _id, type: 'directory', name: _id, dir_id: ROOT_DIR_ID })));
    t.teardown(() => store.bulkDocs(env.inst, FILES_DOCTYPE, docs.map((d) => ({ _id: d.id, _rev: d.rev, _deleted: true }))).then(() => undefined));
    for (const id of imported) {
      t.equal(await docIdOfNumber(store, env.inst, numericFileId(id), 2), id, `${id} (pages of 2)`);
      t.equal(await docIdOfNumber(store, env.inst, numericFileId(id)), id, `${id} (one page)`);
    }
    t.equal(await docIdOfNumber(store, env.inst, 1023, 2), null, 'a number of that range nobody has');
    t.equal(await docIdOfNumber(store, env.inst, numericFileId('not-there-0001'), 2), null);
  });
});

t.test('the same numbers from two processes', async (t) => {
  const { one, two } = await startTwoDavProcesses(t, '/remote.php/dav/files/me');
  const put = await one('PUT', '/shared.txt', {}, 'from one');
  t.equal(put.status, 201);
  const seen = await Promise.all([one, two].map(async (send) => idsOf((await send('PROPFIND', '/shared.txt', { depth: '0' }, PROPS)).body)));
  const [a, b] = seen.map((m) => [...m.values()][0]);
  t.ok(a?.fileid && /^\d+$/.test(a.fileid), `numeric (${a?.fileid})`);
  t.same(b, a, 'oc:id and oc:fileid agree');
  t.equal(put.headers['oc-fileid'], b?.id, "one's OC-FileId is two's oc:id");
});
