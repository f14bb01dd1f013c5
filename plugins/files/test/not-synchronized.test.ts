import t from 'tap';
import { attrs, setup } from './helpers.ts';

const CLIENT = { type: 'io.cozy.oauth.clients', id: '653dfdb0059501399' };
const OTHER = { type: 'io.cozy.oauth.clients', id: 'another-client' };

t.test('not_synchronized_on relationships on a directory', async (t) => {
  const s = await setup(t);
  const dir = attrs(await s.call('POST', '/files/io.cozy.files.root-dir?Type=directory&Name=Videos'));
  const file = attrs(await s.call('POST', '/files/io.cozy.files.root-dir?Type=file&Name=a.txt', { body: 'hi', headers: { 'content-type': 'text/plain' } }));
  const url = `/files/${dir.id}/relationships/not_synchronized_on`;

  const added = await s.call('POST', url, { body: { data: [CLIENT, OTHER] } });
  t.equal(added.statusCode, 200, added.body);
  const body = added.json() as { meta: { rev: string; count: number }; data: unknown[] };
  t.equal(body.meta.count, 2);
  t.same(body.data, [CLIENT, OTHER]);
  t.not(body.meta.rev, dir.rev, 'the directory got a new revision');

  const again = await s.call('POST', url, { body: { data: CLIENT } });
  t.equal((again.json() as { meta: { count: number } }).meta.count, 2, 'adding a reference twice keeps one');

  const got = await s.call('GET', url);
  t.equal(got.statusCode, 200);
  t.same((got.json() as { data: unknown[] }).data, [CLIENT, OTHER]);
  const shown = await s.call('GET', `/files/${dir.id}`);
  t.same((shown.json() as { data: { relationships: { not_synchronized_on: { data: unknown[] } } } }).data.relationships.not_synchronized_on.data, [CLIENT, OTHER]);

  const removed = await s.call('DELETE', url, { body: { data: [OTHER] } });
  t.equal(removed.statusCode, 200);
  t.same((removed.json() as { data: unknown[] }).data, [CLIENT]);

  t.equal((await s.call('POST', `/files/${file.id}/relationships/not_synchronized_on`, { body: { data: [CLIENT] } })).statusCode, 404, 'a file cannot be excluded');
  t.equal((await s.call('POST', '/files/no-such-dir/relationships/not_synchronized_on', { body: { data: [CLIENT] } })).statusCode, 404);
  t.equal((await s.call('POST', url, { body: { data: [{ type: '', id: 'x' }] } })).statusCode, 400, 'a bad identifier is refused');
  t.equal((await s.call('POST', url, { body: { data: [CLIENT] }, scope: 'io.cozy.contacts' })).statusCode, 403, 'needs a permission on the directory');
  t.equal((await s.call('GET', url, { scope: null })).statusCode, 401);
});
