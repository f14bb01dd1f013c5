import { createServer, type Server, type Socket } from 'node:net';
import t, { type Test } from 'tap';
import { isCozyError } from '../src/errors.ts';
import { CouchAdapter } from '../src/store/couch-adapter.ts';
import { FindPaginator, type FindAnswer, type FindCall } from '../src/store/find-cursor.ts';
import { STORE_ERROR_CODES } from '../src/store/store-errors.ts';
import { storeContract } from '../src/testing/store-contract.ts';
import { startCouchServer } from './helpers/couch-process.ts';

/**
 * The contract against CouchAdapter. COZY_TEST_COUCHDB_URL (a real CouchDB 3, credentials in the URL) wins;
 * otherwise a pouchdb-server (helpers/couch-server.cjs, in memory) is started on a free loopback port.
 */
const externalUrl = process.env.COZY_TEST_COUCHDB_URL;
let serverUrl: Promise<string> | undefined;
const couchUrl = () =>
  (serverUrl ??= externalUrl
    ? Promise.resolve(externalUrl)
    : startCouchServer().then((server) => {
        t.teardown(server.stop);
        return server.url;
      }));

storeContract(t, 'couchdb', async () => {
  const adapter = new CouchAdapter({ url: await couchUrl(), requestTimeoutMs: 10_000 });
  return { adapter, cleanup: () => adapter.close() };
});

async function unavailableError(t: Test, call: Promise<unknown>, what: string): Promise<void> {
  const err = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  t.ok(isCozyError(err), `${what}: a CozyError`);
  if (!isCozyError(err)) return;
  t.equal(err.status, 503, `${what}: 503`);
  t.equal(err.code, STORE_ERROR_CODES.unavailable, `${what}: code`);
  t.same(err.couch, { error: 'service_unavailable', reason: 'The document store is unavailable' });
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

t.test('A CouchAdapter pointed at a closed port throws unavailable (503) from ping and get', async (t) => {
  const probe = createServer();
  const port = await listen(probe);
  await new Promise((resolve) => probe.close(resolve));
  const adapter = new CouchAdapter({ url: `http://127.0.0.1:${port}`, requestTimeoutMs: 2_000 });
  await unavailableError(t, adapter.ping(), 'ping');
  await unavailableError(t, adapter.get('cozyab/io-cozy-files', 'x'), 'get');
  await unavailableError(t, adapter.put('cozyab/io-cozy-files', { v: 1 }), 'put');
});

t.test('A CouchAdapter whose server never answers throws unavailable (503) after its request timeout', async (t) => {
  const sockets = new Set<Socket>();
  const silent = createServer((socket) => sockets.add(socket));
  const port = await listen(silent);
  t.teardown(() => {
    for (const socket of sockets) socket.destroy();
    return new Promise((resolve) => silent.close(resolve));
  });
  const adapter = new CouchAdapter({ url: `http://127.0.0.1:${port}`, requestTimeoutMs: 300 });
  const started = Date.now();
  await unavailableError(t, adapter.ping(), 'ping');
  t.ok(Date.now() - started < 5_000, 'gives up on time');
});

/**
 * CouchDB 3 issues bookmarks, which pouchdb-server cannot show: a fake `_find` that does (and answers at most two
 * docs per call, as a server might on short pages) holds the paginator's server-bookmark path to the same rules.
 */
function fakeBookmarkServer(total: number) {
  const ids = Array.from({ length: total }, (_, i) => `d${String(i).padStart(3, '0')}`);
  const calls: FindCall[] = [];
  const run = async (call: FindCall): Promise<FindAnswer> => {
    calls.push(call);
    const from = (call.bookmark && call.bookmark !== 'nil' ? Number(call.bookmark.slice(1)) : 0) + (call.skip ?? 0);
    const slice = ids.slice(from, from + Math.min(call.limit ?? 25, 2));
    const bookmark = slice.length === 0 ? 'nil' : `b${from + slice.length}`;
    return { docs: slice.map((_id) => ({ _id })), bookmark };
  };
  return { run, calls, ids };
}

t.test('With server bookmarks, pages are topped up to the limit and next is exact on every page', async (t) => {
  for (const total of [0, 1, 3, 6, 7]) {
    const server = fakeBookmarkServer(total);
    const paginator = new FindPaginator('detect');
    const seen: string[] = [];
    let bookmark: string | undefined;
    for (let page = 0; page < 10; page++) {
      const result = await paginator.find({ selector: {}, limit: 3, ...(bookmark ? { bookmark } : {}) }, server.run);
      t.equal(result.docs.length, Math.min(3, total - seen.length), `${total} docs, page ${page}: full unless last`);
      seen.push(...result.docs.map((doc) => doc._id));
      t.equal(result.next, seen.length < total, `${total} docs, page ${page}: next`);
      t.notMatch(result.bookmark, /^cozy-skip:/, 'the server bookmark is passed through');
      bookmark = result.bookmark;
      if (!result.next) break;
    }
    t.same(seen, server.ids, `${total} docs: every doc once, in order`);
    t.notOk(server.calls.some((call) => call.limit === undefined), 'never an unbounded call');
  }
});

t.test('Our skip bookmarks and foreign bookmarks are told apart, and a corrupt one is a 400', async (t) => {
  const paginator = new FindPaginator('never');
  const server = fakeBookmarkServer(5);
  const noBookmarks = async (call: FindCall): Promise<FindAnswer> => ({ docs: (await server.run(call)).docs });
  const first = await paginator.find({ selector: {}, limit: 2 }, noBookmarks);
  t.match(first.bookmark, /^cozy-skip:/);
  for (const bookmark of ['cozy-skip:!!!', 'g1AAAABteJzLYWBgYMpgSmHgKy5JLCrJTq2MT8lPzkzJBYqzGJsYGJgA']) {
    const err = await paginator.find({ selector: {}, bookmark }, noBookmarks).catch((e: unknown) => e);
    t.ok(isCozyError(err) && err.status === 400 && err.code === STORE_ERROR_CODES.badRequest, bookmark);
  }
});
