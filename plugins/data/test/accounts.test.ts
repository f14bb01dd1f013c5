import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import nacl from 'tweetnacl';
import { startTestKernel } from '@cozy-ts/kernel/testing';
import { AccountCrypto, computeAccountName, formatNaclKey, generateKeyPair, parseNaclKey } from '../src/account-crypto.ts';
import { setup } from './helpers.ts';

const ACCOUNTS = 'io.cozy.accounts';

/** Key files in a temp folder, and a test kernel whose data plugin uses them. */
async function withKeys(t: Test) {
  const dir = await mkdtemp(path.join(tmpdir(), 'cozy-keys-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const keys = generateKeyPair();
  await writeFile(path.join(dir, 'enc.pem'), formatNaclKey(keys.encryptor));
  await writeFile(path.join(dir, 'dec.pem'), formatNaclKey(keys.decryptor));
  const data = await setup(t, { credentials: { encryptorKey: path.join(dir, 'enc.pem'), decryptorKey: path.join(dir, 'dec.pem') } });
  const { tk, inst } = data;
  // An app and a konnector, with their permission documents, as the apps plugin installs them.
  const rules = { permissions: { accounts: { type: ACCOUNTS, verbs: ['ALL'] } } };
  await tk.kernel.store.put(inst, 'io.cozy.permissions', { _id: 'io.cozy.apps/home', type: 'app', source_id: 'io.cozy.apps/home', ...rules });
  await tk.kernel.store.put(inst, 'io.cozy.permissions', { _id: 'io.cozy.konnectors/bank', type: 'konnector', source_id: 'io.cozy.konnectors/bank', ...rules });
  const bearer = async (aud: 'app' | 'konn', subject: string) => ({ authorization: `Bearer ${await tk.kernel.auth.issueToken(inst, aud, { subject })}` });
  return { ...data, keys, crypto: new AccountCrypto(keys), app: await bearer('app', 'home'), konnector: await bearer('konn', 'bank') };
}

type Json = Record<string, unknown>;
const auth = (doc: Json) => doc.auth as Json;

t.test('a new account is stored with its secrets encrypted, named after its identifier, with cozyMetadata from the caller', async (t) => {
  const { call, tk, inst, crypto, konnector } = await withKeys(t);
  const body = { account_type: 'bank', identifier: 'email', auth: { login: 'alice', email: 'a@x.org', password: 'p4ss', secret: { otp: 42 } }, data: { auth: { token: 'kept', session: 'sess' } } };
  const res = await call('POST', `/data/${ACCOUNTS}/`, null, body, konnector);
  t.equal(res.statusCode, 201);
  const { id, data } = res.json();
  t.notOk(auth(data).password, 'the answer carries no password');
  const stored = await tk.kernel.store.get(inst, ACCOUNTS, id);
  t.same(Object.keys(auth(stored)).sort(), ['credentials_encrypted', 'email', 'login', 'secret_encrypted']);
  t.equal(stored.name, 'a@x.org', 'name from auth[identifier]');
  t.match(stored.cozyMetadata, { metadataVersion: 1, createdByApp: 'bank', createdAt: String, updatedAt: String });
  t.same(Object.keys((stored.data as Json).auth as Json).sort(), ['session_encrypted', 'token'], 'data.auth too');
  t.match(auth(stored).credentials_encrypted, /^[A-Za-z0-9+/]+=*$/);
  t.equal(Buffer.from(String(auth(stored).credentials_encrypted), 'base64').subarray(0, 4).toString(), 'nacl', 'cozy cipher header');
  const clear = structuredClone(stored);
  t.ok(crypto.decrypt(clear));
  t.same(auth(clear), { login: 'alice', email: 'a@x.org', password: 'p4ss', secret: { otp: 42 } }, 'decrypts to what was sent');
  t.same((clear.data as Json).auth, { token: 'kept', session: 'sess' });
});

t.test('secrets come back in clear to konnectors, and to apps only with include=credentials', async (t) => {
  const { call, crypto, app, konnector } = await withKeys(t);
  const created = (await call('POST', `/data/${ACCOUNTS}/`, null, { auth: { login: 'bob', password: 'hunter2' } }, konnector)).json();
  const url = `/data/${ACCOUNTS}/${created.id}`;
  const forKonnector = (await call('GET', url, null, undefined, konnector)).json();
  t.same(auth(forKonnector), { login: 'bob', password: 'hunter2' });
  t.equal(forKonnector.name, 'bob', 'name from the login without identifier');
  const forApp = (await call('GET', url, null, undefined, app)).json();
  t.same(Object.keys(auth(forApp)).sort(), ['credentials_encrypted', 'login']);
  t.same(auth((await call('GET', `${url}?include=credentials`, null, undefined, app)).json()), { login: 'bob', password: 'hunter2' });
  const forCli = (await call('GET', `${url}?include=credentials`, ACCOUNTS)).json();
  t.notOk(auth(forCli).password, 'include=credentials is for apps only');
  // An update sent back as read by an app keeps the encrypted credentials; a new password replaces them.
  const kept = await call('PUT', url, null, { ...forApp, label: 'Bank' }, app);
  t.equal(kept.statusCode, 200);
  t.notOk(auth(kept.json().data).password, 'an app gets no clear secrets from an update');
  const reread = structuredClone((await call('GET', url, null, undefined, app)).json());
  t.equal(reread.label, 'Bank');
  crypto.decrypt(reread);
  t.equal(auth(reread).password, 'hunter2', 'the credentials survived the update');
  const changed = await call('PUT', url, null, { ...reread, auth: { login: 'bob', password: 'new' } }, konnector);
  t.equal(auth(changed.json().data).password, 'new', 'a konnector gets its update back in clear');
  t.same(Object.keys(auth((await call('GET', url, null, undefined, app)).json())).sort(), ['credentials_encrypted', 'login']);
  t.match(changed.json().data.cozyMetadata, { metadataVersion: 1 }, 'cozyMetadata kept');
});

t.test('an account stored in clear is encrypted on its first read; one created with PUT is encrypted too', async (t) => {
  const { call, tk, inst, konnector, app } = await withKeys(t);
  await tk.kernel.store.put(inst, ACCOUNTS, { _id: 'legacy', auth: { login: 'c', password: 'old', access_token: 'tok' } });
  const read = (await call('GET', `/data/${ACCOUNTS}/legacy`, null, undefined, konnector)).json();
  t.same(auth(read), { login: 'c', password: 'old', access_token: 'tok' });
  t.match(read._rev, /^2-/, 'written back');
  const stored = await tk.kernel.store.get(inst, ACCOUNTS, 'legacy');
  t.same(Object.keys(auth(stored)).sort(), ['access_token_encrypted', 'credentials_encrypted', 'login']);
  const put = await call('PUT', `/data/${ACCOUNTS}/named`, null, { auth: { login: 'd', password: 'x' } }, app);
  t.equal(put.statusCode, 200);
  t.same(Object.keys(auth(await tk.kernel.store.get(inst, ACCOUNTS, 'named'))).sort(), ['credentials_encrypted', 'login']);
});

t.test('without keys in the config, accounts are stored as sent but still named and stamped', async (t) => {
  const { call, tk, inst } = await setup(t);
  const res = await call('POST', `/data/${ACCOUNTS}/`, ACCOUNTS, { auth: { login: 'e', password: 'plain' } });
  t.equal(res.statusCode, 201);
  const stored = await tk.kernel.store.get(inst, ACCOUNTS, res.json().id);
  t.same(stored.auth, { login: 'e', password: 'plain' });
  t.equal(stored.name, 'e');
  t.match(stored.cozyMetadata, { metadataVersion: 1 });
  t.notOk((stored.cozyMetadata as Json).createdByApp, 'no app behind a CLI token');
});

t.test('a key file that is missing or not a NACL KEY stops the boot, naming the file', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'cozy-keys-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await writeFile(path.join(dir, 'bad.pem'), '-----BEGIN RSA KEY-----\nAAAA\n-----END RSA KEY-----\n');
  for (const file of ['bad.pem', 'absent.pem']) {
    const credentials = { encryptorKey: path.join(dir, file), decryptorKey: path.join(dir, file) };
    await t.rejects(startTestKernel({ config: { plugins: { '@cozy-ts/plugin-data': { credentials } } } }), new RegExp(file.replace('.', '\\.')));
  }
  await t.rejects(startTestKernel({ config: { plugins: { '@cozy-ts/plugin-data': { credentials: { encryptorKey: 'x' } } } } }), /decryptorKey/);
});

t.test('the crypto reads what a cozy-stack key pair wrote: credentials layout, data fields, bad ciphers', async (t) => {
  const keys = generateKeyPair();
  t.same(parseNaclKey(formatNaclKey(keys.encryptor)), keys.encryptor, 'PEM round trip');
  t.throws(() => parseNaclKey(`-----BEGIN NACL KEY-----\n${Buffer.alloc(10).toString('base64')}\n-----END NACL KEY-----\n`), /64 bytes/);
  // A cipher built by hand the way cozy's EncryptCredentialsWithKey does.
  const plain = Buffer.concat([Buffer.from([0, 0, 0, 3]), Buffer.from('bobsecret')]);
  const nonce = nacl.randomBytes(24);
  const sealed = nacl.box(plain, nonce, keys.encryptor.publicKey, keys.encryptor.privateKey);
  const cipher = Buffer.concat([Buffer.from('nacl'), nonce, sealed]).toString('base64');
  const crypto = new AccountCrypto(keys);
  const doc: Json = { auth: { credentials_encrypted: cipher, refresh_token_encrypted: 'bm90IGEgY2lwaGVy', other_encrypted: 7 } };
  t.ok(crypto.decrypt(doc));
  t.same(doc.auth, { login: 'bob', password: 'secret', refresh_token: null, other: 7 }, 'undecryptable data is null, as cozy');
  const wrongKey = new AccountCrypto(generateKeyPair());
  const other: Json = { auth: { credentials_encrypted: cipher } };
  t.notOk(wrongKey.decrypt(other));
  t.same(other.auth, { login: '', password: '' });
  const named: Json = { identifier: 'phone', auth: { login: 'l', phone: '06' } };
  computeAccountName(named);
  t.equal(named.name, '06');
  const unnamed: Json = { identifier: 'missing', auth: { login: 'l' } };
  computeAccountName(unnamed);
  t.notOk(unnamed.name, 'an identifier naming nothing leaves the name alone');
});
