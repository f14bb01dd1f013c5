import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { DEVICE_PASSWORDS } from '@cozy-ts/kernel';
import { startTwoProcesses } from '../../../kernel/test/helpers/shared-ports.ts';
import { basicHeader, PLUGINS } from './helpers.ts';

t.test('a lock taken through one process binds the other (cluster cache)', async (t) => {
  const files = await mkdtemp(join(tmpdir(), 'webdav-two-'));
  t.teardown(() => rm(files, { recursive: true, force: true }));
  const { p1, p2 } = await startTwoProcesses(t, { config: { plugins: { ...PLUGINS, '@cozy-ts/plugin-vfs-local': { root: files } } } });
  await p1.kernel.app.listen({ host: '127.0.0.1', port: 0 });
  await p2.kernel.app.listen({ host: '127.0.0.1', port: 0 });
  const port1 = (p1.kernel.app.server.address() as AddressInfo).port;
  const port2 = (p2.kernel.app.server.address() as AddressInfo).port;
  const domain = `127.0.0.1:${port1}`;
  const inst = await p1.createInstance(domain);
  const { password } = await p1.kernel.container.resolve(DEVICE_PASSWORDS.token).create(inst, 'two', ['files']);
  const auth = basicHeader('me', password);
  // Both processes serve the same instance: process 2 is reached with process 1's Host, as behind a proxy.
  const hostFetch = (port: number, path: string, method: string, headers: Record<string, string> = {}, body?: string) => {
    return new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: `/dav/files${path}`, method, headers: { host: domain, authorization: auth, ...headers }, agent: false }, (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
      });
      req.on('error', reject);
      req.end(body);
    });
  };

  t.equal((await hostFetch(port1, '/doc.txt', 'PUT', {}, 'v1')).status, 201);
  const lock = await hostFetch(port1, '/doc.txt', 'LOCK', { 'content-type': 'application/xml', timeout: 'Second-600' },
    '<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner>p1</D:owner></D:lockinfo>');
  t.equal(lock.status, 200);
  const token = String(lock.headers['lock-token']).replace(/[<>]/g, '');
  t.match(token, /^urn:uuid:/);

  const blocked = await hostFetch(port2, '/doc.txt', 'PUT', {}, 'from p2 without token');
  t.equal(blocked.status, 423, 'process 2 refuses a write without the token');
  const discovery = await hostFetch(port2, '/doc.txt', 'PROPFIND', { depth: '0', 'content-type': 'application/xml' }, '<D:propfind xmlns:D="DAV:"><D:prop><D:lockdiscovery/></D:prop></D:propfind>');
  t.match(discovery.body, token, 'process 2 reports the lock');
  const allowed = await hostFetch(port2, '/doc.txt', 'PUT', { if: `(<${token}>)` }, 'from p2 with token');
  t.equal(allowed.status, 204);
  t.equal((await hostFetch(port2, '/doc.txt', 'UNLOCK', { 'lock-token': `<${token}>` })).status, 204);
  t.equal((await hostFetch(port1, '/doc.txt', 'PUT', {}, 'p1 after unlock')).status, 204, 'process 1 sees the unlock');
  t.equal((await hostFetch(port2, '/doc.txt', 'GET')).body, 'p1 after unlock');
});
