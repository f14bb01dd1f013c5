import { createHash } from 'node:crypto';
import t from 'tap';
import { attrs, setup, type FilesSetup } from './helpers.ts';

const md5 = (s: string) => createHash('md5').update(s).digest('base64');

interface VersionRel {
  id: string;
}

/** The file's JSON:API document, with its old versions' ids and their included resources. */
async function stat(s: FilesSetup, id: string) {
  const res = await s.call('GET', `/files/${id}`);
  if (res.statusCode !== 200) throw new Error(`GET /files/${id}: ${res.statusCode} ${res.body}`);
  const body = res.json() as {
    data: { attributes: Record<string, unknown>; meta: { rev: string }; relationships: { old_versions?: { data: VersionRel[] } } };
    included?: Array<{ id: string; type: string; attributes: Record<string, unknown> }>;
  };
  // cozy-stack leaves the relationship out when there is no old version.
  const versions = (body.data.relationships.old_versions?.data ?? []).map((v) => v.id);
  const included = (vid: string) => body.included?.find((i) => i.id === vid)?.attributes;
  return { attributes: body.data.attributes, rev: body.data.meta.rev, versions, included };
}

/** vfs-local + files, with versions kept on every overwrite (no minimum delay). */
async function env(t: Parameters<typeof setup>[0]) {
  const s = await setup(t, { files: { versions: { maxNumber: 20, minDelaySeconds: 0 } } });
  const upload = async (name: string, body: string, query = '') => {
    const res = await s.call('POST', `/files/?Type=file&Name=${encodeURIComponent(name)}${query}`, { body, headers: { 'content-type': 'text/plain' } });
    t.equal(res.statusCode, 201, `uploaded ${name}`);
    return attrs(res);
  };
  return { s, upload };
}

const metaBody = (attributes: Record<string, unknown>) => ({ data: { type: 'io.cozy.files.metadata', attributes } });

t.test('POST /files/:id/versions makes the same content current with new metadata; the old metadata becomes a version', async (t) => {
  const { s, upload } = await env(t);
  const f = await upload('invoice.txt', 'the content', '&Tags=old&Metadata=' + encodeURIComponent(JSON.stringify({ datetime: '2017-01-01T00:00:00Z' })));
  const res = await s.call('POST', `/files/${f.id}/versions?Tags=bills,%20telecom,,`, {
    body: metaBody({ qualification: { label: 'telecom_invoice', purpose: 'invoice' }, datetime: '2017-04-22T01:00:00-05:00' }),
  });
  t.equal(res.statusCode, 200);
  const now = attrs(res);
  t.equal(now.id, f.id, 'same file');
  t.not(now.rev, f.rev);
  t.equal(now.md5sum, md5('the content'), 'same content');
  t.equal(now.size, String('the content'.length));
  t.same(now.tags, ['bills', 'telecom'], 'Tags split on commas and trimmed, empty ones dropped');
  t.same(now.metadata, { qualification: { label: 'telecom_invoice', purpose: 'invoice' }, datetime: '2017-04-22T01:00:00-05:00' }, 'metadata replaced');
  t.equal(now.updated_at, f.updated_at, 'the content date stays');
  t.equal((await s.call('GET', `/files/download/${f.id}`)).body, 'the content');

  const after = await stat(s, f.id);
  t.equal(after.versions.length, 1, 'the previous state is an old version');
  const vid = after.versions[0] as string;
  t.match(after.included(vid), { md5sum: md5('the content'), tags: ['old'], metadata: { datetime: '2017-01-01T00:00:00Z' } }, 'with its old tags and metadata');
  t.equal((await s.call('GET', `/files/download/${f.id}/${vid.split('/')[1]}`)).body, 'the content', 'its content downloads');

  const bare = await s.call('POST', `/files/${f.id}/versions`, { body: metaBody({}) });
  t.equal(bare.statusCode, 200);
  t.same(attrs(bare).tags, [], 'no Tags: none');
  t.same(attrs(bare).metadata, {}, 'no attributes: no metadata');
  t.equal((await stat(s, f.id)).versions.length, 2);
});

t.test('POST /files/:id/versions: directories, unknown ids, trashed files, bad bodies and permissions', async (t) => {
  const { s, upload } = await env(t);
  const dir = attrs(await s.call('POST', '/files/?Type=directory&Name=folder'));
  const dirRes = await s.call('POST', `/files/${dir.id}/versions`, { body: metaBody({}) });
  t.equal(dirRes.statusCode, 400);
  t.match(dirRes.json(), { errors: [{ detail: 'cannot create versions for directories' }] });
  t.equal((await s.call('POST', '/files/no-such-file/versions', { body: metaBody({}) })).statusCode, 404);

  const f = await upload('a.txt', 'a');
  t.equal((await s.call('POST', `/files/${f.id}/versions`, { body: 'not json', headers: { 'content-type': 'application/vnd.api+json' } })).statusCode, 400);
  t.equal((await s.call('POST', `/files/${f.id}/versions`, { body: { data: [] } })).statusCode, 400, 'data must be a resource');
  t.equal((await s.call('POST', `/files/${f.id}/versions`, { body: metaBody({}), scope: 'io.cozy.files:GET' })).statusCode, 403, 'needs PUT');
  t.equal((await s.call('POST', `/files/${f.id}/versions`, { body: metaBody({}), scope: `io.cozy.files:PUT:${f.id}` })).statusCode, 200, 'PUT on the file is enough');
  t.equal((await s.call('POST', `/files/${f.id}/versions`, { body: metaBody({}), scope: null })).statusCode, 401);

  t.equal((await s.call('DELETE', `/files/${f.id}`)).statusCode, 200, 'trashed');
  t.equal((await s.call('POST', `/files/${f.id}/versions`, { body: metaBody({}) })).statusCode, 404, 'not in the trash');
});

t.test('POST /files/:id/versions keeps certified metadata only for callers allowed to set it', async (t) => {
  const { s, upload } = await env(t);
  const f = await upload('payslip.txt', 'pay');
  const certified = 'io.cozy.files io.cozy.certified.carbon_copy io.cozy.certified.electronic_safe';
  const plain = await s.call('POST', `/files/${f.id}/versions`, { body: metaBody({ carbonCopy: true, electronicSafe: true, label: 'x' }) });
  t.same(attrs(plain).metadata, { label: 'x' }, 'an ordinary token cannot certify');
  const cert = await s.call('POST', `/files/${f.id}/versions`, { body: metaBody({ carbonCopy: true, electronicSafe: true }), scope: certified });
  t.same(attrs(cert).metadata, { carbonCopy: true, electronicSafe: true }, 'the certified doctypes may');
  const qualified = await s.call('POST', `/files/${f.id}/versions`, { body: metaBody({ qualification: { label: 'pay_sheet' } }) });
  t.same(attrs(qualified).metadata, { qualification: { label: 'pay_sheet' }, carbonCopy: true, electronicSafe: true }, 'a new qualification keeps the certifications');
  const other = await s.call('POST', `/files/${f.id}/versions`, { body: metaBody({ qualification: { label: 'pay_sheet' }, datetime: '2020-01-01T00:00:00Z' }) });
  t.same(attrs(other).metadata, { qualification: { label: 'pay_sheet' }, datetime: '2020-01-01T00:00:00Z' }, 'any other change drops them');
});

t.test('PATCH /files/:id/:version-id retags an old version; DELETE removes one, and DELETE /files/versions all', async (t) => {
  const { s, upload } = await env(t);
  const f = await upload('poem.txt', 'first');
  for (const body of ['second', 'third']) t.equal((await s.call('PUT', `/files/${f.id}`, { body, headers: { 'content-type': 'text/plain' } })).statusCode, 200);
  const before = await stat(s, f.id);
  t.equal(before.versions.length, 2);
  const [v1, v2] = before.versions as [string, string];
  const short1 = v1.split('/')[1] as string;

  const patched = await s.call('PATCH', `/files/${f.id}/${short1}`, { body: { data: { type: 'io.cozy.files.versions', id: v1, attributes: { tags: ['poem', 'poem', 'draft'] } } } });
  t.equal(patched.statusCode, 200);
  const pv = patched.json() as { data: { id: string; type: string; attributes: { tags: string[]; md5sum: string } } };
  t.equal(pv.data.id, v1);
  t.equal(pv.data.type, 'io.cozy.files.versions');
  t.same(pv.data.attributes.tags, ['poem', 'draft']);
  t.equal(pv.data.attributes.md5sum, md5('first'));
  t.same((await stat(s, f.id)).included(v1)?.tags, ['poem', 'draft'], 'stored');
  t.equal((await s.call('PATCH', `/files/${f.id}/${short1}`, { body: { data: { attributes: { tags: 'poem' } } } })).statusCode, 400, 'tags must be an array');
  t.equal((await s.call('PATCH', `/files/${f.id}/nope`, { body: { data: { attributes: { tags: [] } } } })).statusCode, 404, 'unknown version');
  t.equal((await s.call('PATCH', `/files/${f.id}/${short1}`, { body: { data: { attributes: { tags: [] } } }, scope: 'io.cozy.files:GET' })).statusCode, 403);

  t.equal((await s.call('DELETE', `/files/${f.id}/${v2.split('/')[1]}`, { scope: 'io.cozy.files:GET' })).statusCode, 403);
  t.equal((await s.call('DELETE', `/files/${f.id}/${v2.split('/')[1]}`)).statusCode, 204);
  t.same((await stat(s, f.id)).versions, [v1], 'one left');
  t.equal((await s.call('GET', `/files/download/${f.id}/${v2.split('/')[1]}`)).statusCode, 404, 'its content is gone');
  t.equal((await s.call('DELETE', `/files/${f.id}/${v2.split('/')[1]}`)).statusCode, 404, 'already gone');

  const g = await upload('other.txt', 'g1');
  t.equal((await s.call('PUT', `/files/${g.id}`, { body: 'g2', headers: { 'content-type': 'text/plain' } })).statusCode, 200);
  t.equal((await s.call('DELETE', '/files/versions', { scope: `io.cozy.files:ALL:${g.id}` })).statusCode, 403, 'needs the whole doctype');
  t.equal((await s.call('DELETE', '/files/versions')).statusCode, 204);
  t.same((await stat(s, f.id)).versions, [], 'tagged or not, every version is gone');
  t.same((await stat(s, g.id)).versions, []);
  t.equal((await s.call('GET', `/files/download/${f.id}/${short1}`)).statusCode, 404);
  t.equal((await s.call('GET', `/files/download/${f.id}`)).body, 'third', 'current contents untouched');
  const usage = (await s.call('GET', '/settings/disk-usage')).json() as { data: { attributes: { versions: string } } };
  t.equal(usage.data.attributes.versions, '0', 'versions no longer count in the disk usage');
});

t.test('POST /files/revert/:id/:version-id: the version becomes current, the replaced content a version', async (t) => {
  const { s, upload } = await env(t);
  const f = await upload('r.txt', 'v1', '&Tags=one');
  const put = await s.call('PUT', `/files/${f.id}?Tags=two`, { body: 'v2', headers: { 'content-type': 'text/plain' } });
  t.equal(put.statusCode, 200);
  const [vid] = (await stat(s, f.id)).versions as [string];
  const short = vid.split('/')[1] as string;
  t.equal((await s.call('POST', `/files/revert/${f.id}/${short}`, { headers: { 'if-match': f.rev } })).statusCode, 412, 'a stale If-Match');
  t.equal((await s.call('POST', `/files/revert/${f.id}/${short}`, { scope: 'io.cozy.files:GET' })).statusCode, 403);
  t.equal((await s.call('POST', `/files/revert/${f.id}/unknown`)).statusCode, 404);
  const res = await s.call('POST', `/files/revert/${f.id}/${short}`);
  t.equal(res.statusCode, 200);
  t.match(attrs(res), { md5sum: md5('v1'), tags: ['one'] });
  t.equal((await s.call('GET', `/files/download/${f.id}`)).body, 'v1');
  const after = await stat(s, f.id);
  t.equal(after.versions.length, 1);
  t.not(after.versions[0], vid, 'the reverted version is no longer a version');
  t.match(after.included(after.versions[0] as string), { md5sum: md5('v2'), tags: ['two'] });
});
