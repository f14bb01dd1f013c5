import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import { DocEventBus } from '../src/events/doc-events.ts';
import type { InstanceDoc } from '../src/instances/instance.ts';
import { parseBigDuration } from '../src/permissions/big-duration.ts';
import { PermissionDocService } from '../src/permissions/permission-docs.ts';
import { PermissionSet } from '../src/permissions/permission-set.ts';
import { isReadableDoctype, isWritableDoctype } from '../src/permissions/reserved-doctypes.ts';
import type { PermissionCaller } from '../src/permissions/share-policy.ts';
import { CouchAdapter } from '../src/store/couch-adapter.ts';
import { DocumentStore } from '../src/store/document-store.ts';
import { PouchAdapter } from '../src/store/pouch-adapter.ts';
import type { StoreAdapter } from '../src/store/types.ts';
import { startCouchServer } from './helpers/couch-process.ts';

t.test('ttl durations read as bigduration reads them', async (t) => {
  const HOUR = 3600e3;
  const DAY = 24 * HOUR;
  const cases: Array<[string, number | null]> = [
    ['1ns', 1e-6], ['1us', 1e-3], ['1µs', 1e-3], ['1ms', 1], ['1s', 1000], ['1m', 60e3], ['1h', HOUR],
    ['1D', DAY], ['1W', 7 * DAY], ['1M', 30 * DAY], ['1Y', 365 * DAY], ['0', 0], ['1.5h', 1.5 * HOUR], ['2h30m', 2.5 * HOUR],
    ['1D12h', 1.5 * DAY],
    ['', null], ['D', null], ['1d', null], ['-1h', null], ['1h30', null], ['1D1Y', null], ['soon', null], ['1 h', null],
  ];
  for (const [text, ms] of cases) t.equal(parseBigDuration(text), ms, JSON.stringify(text));
  const big = parseBigDuration('7Y6M5W4D3h2m1s1ms2us3ns') as number;
  t.ok(Math.abs(big - (66579 * HOUR + 2 * 60e3 + 1000 + 1 + 0.002 + 0.000003)) < 1e-6, 'every unit at once (bigduration\'s own case)');
});

t.test('reserved doctypes: only the stack writes them, and some nobody reads', async (t) => {
  t.ok(isWritableDoctype('io.cozy.contacts'));
  t.notOk(isWritableDoctype('io.cozy.files'), 'files are written through /files only');
  t.ok(isReadableDoctype('io.cozy.files'));
  t.notOk(isWritableDoctype('io.cozy.permissions'));
  t.notOk(isReadableDoctype('io.cozy.permissions'));
  t.notOk(isWritableDoctype('io.cozy.bank.*'), 'a wildcard is not a doctype');
  t.notOk(isReadableDoctype('Bad.Name'));
});

function fakeInstance(domain: string): InstanceDoc {
  const secret = () => randomBytes(32).toString('base64');
  const now = new Date().toISOString();
  return {
    _id: domain, domain, prefix: `cozy${randomBytes(8).toString('hex')}`, locale: 'en', onboarding_finished: true, kdf_iterations: 1000,
    session_secret: secret(), oauth_secret: secret(), cli_secret: secret(), created_at: now, updated_at: now,
  };
}

const owner: PermissionCaller = { kind: 'cli', permissions: PermissionSet.maximal(), sourceId: '' };
const rules = (doctype: string, id: string) => PermissionSet.fromManifest({ r: { type: doctype, verbs: ['GET'], values: [id] } });

/** The same checks on each adapter: the views are plain map functions both run. */
function viewSuite(name: string, makeAdapter: (t: Test) => Promise<StoreAdapter>) {
  t.test(`${name}: an old design document is upgraded, and shares are listed by doctype and looked up by code`, async (t) => {
    const store = new DocumentStore(await makeAdapter(t), new DocEventBus());
    const service = new PermissionDocService(store);
    const inst = fakeInstance(`${name}.example`);
    // What the first version wrote: the code lookups only.
    await store.put(inst, 'io.cozy.permissions', {
      _id: '_design/permissions',
      views: { 'by-token': { map: 'function (doc) { if (doc.codes) { for (var k in doc.codes) { emit(doc.codes[k], k); } } }' } },
    });

    const made = [];
    for (let i = 0; i < 5; i++) {
      made.push(await service.createShareSet(inst, owner, { permissions: rules('io.cozy.events', `ev${i}`), codeNames: ['bob'] }));
    }
    await service.createShareSet(inst, owner, { permissions: rules('io.cozy.files', 'f'), codeNames: ['bob'] });
    const ids = made.map((d) => d._id).sort();

    const pages: string[][] = [];
    let cursor: string | undefined;
    do {
      const page = await service.listByDoctype(inst, 'share', 'io.cozy.events', { limit: 2, cursor });
      pages.push(page.items.map((d) => d._id));
      cursor = page.next && 'cursor' in page.next ? page.next.cursor : undefined;
    } while (cursor);
    t.same(pages, [ids.slice(0, 2), ids.slice(2, 4), ids.slice(4)], 'pages by cursor');
    const skipped = await service.listByDoctype(inst, 'share', 'io.cozy.events', { limit: 2, skip: 2 });
    t.same(skipped.items.map((d) => d._id), ids.slice(2, 4));
    t.same(skipped.next, { skip: 4 });

    const first = made[0] as (typeof made)[number];
    const code = first.codes?.bob as string;
    t.equal((await service.forShareCode(inst, code))?._id, first._id);
    t.equal(await service.tokenForShortcode(inst, first.shortcodes?.bob as string), code);
    t.equal(await service.tokenForShortcode(inst, 'nothing'), null);

    const shared = await service.sharedVerbs(inst, [{ type: 'io.cozy.events', id: 'ev1' }, { type: 'io.cozy.events', id: 'nope' }]);
    t.same(shared, [{ type: 'io.cozy.events', id: 'ev1', verbs: ['GET'] }]);

    await service.ensureDesignDoc(inst);
    const design = await store.get(inst, 'io.cozy.permissions', '_design/permissions');
    t.match(design._rev, /^2-/, 'written once more, then left alone');
  });
}

viewSuite('embedded', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'cozy-perms-'));
  const adapter = new PouchAdapter({ path: dir });
  t.teardown(async () => {
    await adapter.close();
    await rm(dir, { recursive: true, force: true });
  });
  return adapter;
});

viewSuite('couchdb', async (t) => {
  const external = process.env.COZY_TEST_COUCHDB_URL;
  let url = external;
  if (!url) {
    const server = await startCouchServer();
    t.teardown(server.stop);
    url = server.url;
  }
  return new CouchAdapter({ url, requestTimeoutMs: 10_000 });
});
