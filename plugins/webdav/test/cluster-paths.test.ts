import t from 'tap';
import { startTwoDavProcesses } from './helpers.ts';

t.test('what one process renames, moves or deletes is never served stale by the other', async (t) => {
  const { one, two, domain } = await startTwoDavProcesses(t);
  const dest = (path: string) => ({ destination: `http://${domain}/dav/files${path}` });

  t.equal((await one('MKCOL', '/docs/')).status, 201);
  t.equal((await one('MKCOL', '/docs/sub/')).status, 201);
  t.equal((await one('PUT', '/docs/sub/a.txt', {}, 'v1')).status, 201);
  // Process 1 looks everything up once, as a client listing and reading would.
  t.equal((await one('GET', '/docs/sub/a.txt')).body, 'v1');
  t.equal((await one('PROPFIND', '/docs/sub/', { depth: '1' })).status, 207);

  t.equal((await two('MOVE', '/docs/', dest('/moved/'))).status, 201, 'process 2 renames the top folder');
  t.equal((await one('GET', '/docs/sub/a.txt')).status, 404, 'process 1 no longer finds it under the old name');
  t.equal((await one('PROPFIND', '/docs/sub/', { depth: '0' })).status, 404);
  t.equal((await one('GET', '/moved/sub/a.txt')).body, 'v1', 'and finds it under the new one');

  t.equal((await two('DELETE', '/moved/sub/a.txt')).status, 204, 'process 2 deletes the file');
  t.equal((await one('GET', '/moved/sub/a.txt')).status, 404);
  t.equal((await two('PUT', '/moved/sub/a.txt', {}, 'v2, another file')).status, 201, 'and puts another at its name');
  t.equal((await one('GET', '/moved/sub/a.txt')).body, 'v2, another file');

  t.equal((await two('PUT', '/moved/sub/a.txt', {}, 'v3')).status, 204, 'process 2 overwrites it');
  t.equal((await one('GET', '/moved/sub/a.txt')).body, 'v3');

  t.equal((await two('MKCOL', '/docs/')).status, 201, 'a new folder at the old name');
  t.equal((await one('PROPFIND', '/docs/sub/', { depth: '0' })).status, 404, 'is empty for process 1 too');
  const listing = await one('PROPFIND', '/docs/', { depth: '1' });
  t.equal(listing.status, 207);
  t.notMatch(listing.body, /sub/);
});
