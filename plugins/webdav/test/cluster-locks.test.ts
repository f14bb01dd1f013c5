import t from 'tap';
import { startTwoDavProcesses } from './helpers.ts';

t.test('a lock taken through one process binds the other (cluster cache)', async (t) => {
  const { one, two } = await startTwoDavProcesses(t);
  const hostFetch = (port: 1 | 2, path: string, method: string, headers: Record<string, string> = {}, body?: string) =>
    (port === 1 ? one : two)(method, path, headers, body);
  t.equal((await hostFetch(1, '/doc.txt', 'PUT', {}, 'v1')).status, 201);
  const lock = await hostFetch(1, '/doc.txt', 'LOCK', { 'content-type': 'application/xml', timeout: 'Second-600' },
    '<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner>p1</D:owner></D:lockinfo>');
  t.equal(lock.status, 200);
  const token = String(lock.headers['lock-token']).replace(/[<>]/g, '');
  t.match(token, /^urn:uuid:/);

  const blocked = await hostFetch(2, '/doc.txt', 'PUT', {}, 'from p2 without token');
  t.equal(blocked.status, 423, 'process 2 refuses a write without the token');
  const discovery = await hostFetch(2, '/doc.txt', 'PROPFIND', { depth: '0', 'content-type': 'application/xml' }, '<D:propfind xmlns:D="DAV:"><D:prop><D:lockdiscovery/></D:prop></D:propfind>');
  t.match(discovery.body, token, 'process 2 reports the lock');
  const allowed = await hostFetch(2, '/doc.txt', 'PUT', { if: `(<${token}>)` }, 'from p2 with token');
  t.equal(allowed.status, 204);
  t.equal((await hostFetch(2, '/doc.txt', 'UNLOCK', { 'lock-token': `<${token}>` })).status, 204);
  t.equal((await hostFetch(1, '/doc.txt', 'PUT', {}, 'p1 after unlock')).status, 204, 'process 1 sees the unlock');
  t.equal((await hostFetch(2, '/doc.txt', 'GET')).body, 'p1 after unlock');
});
