import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { DEVICE_PASSWORDS } from '@cozy-ts/kernel';
import { startTwoProcesses } from '../../../kernel/test/helpers/shared-ports.ts';
import { basicHeader, PLUGINS } from './helpers.ts';

interface Reply {
  status: number;
  body: string;
}

t.test('what one process renames, moves or deletes is never served stale by the other', async (t) => {
  const files = await mkdtemp(join(tmpdir(), 'webdav-paths-'));
  t.teardown(() => rm(files, { recursive: true, force: true }));
  const { p1, p2 } = await startTwoProcesses(t, { config: { plugins: { ...PLUGINS, '@cozy-ts/plugin-vfs-local': { root: files } } } });
  await p1.kernel.app.listen({ host: '127.0.0.1', port: 0 });
  await p2.kernel.app.listen({ host: '127.0.0.1', port: 0 });
  const port1 = (p1.kernel.app.server.address() as AddressInfo).port;
  const port2 = (p2.kernel.app.server.address() as AddressInfo).port;
  const domain = `127.0.0.1:${port1}`;
  const inst = await p1.createInstance(domain);
  const { password } = await p1.kernel.container.resolve(DEVICE_PASSWORDS.token).create(inst, 'two', ['files']);
  const send = (port: number, method: string, path: string, headers: Record<string, string> = {}, body?: string) =>
    new Promise<Reply>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: `/dav/files${path}`, method, headers: { host: domain, authorization: basicHeader('me', password), ...headers }, agent: false }, (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      });
      req.on('error', reject);
      req.end(body);
    });
  const one = (method: string, path: string, headers?: Record<string, string>, body?: string) => send(port1, method, path, headers, body);
  const two = (method: string, path: string, headers?: Record<string, string>, body?: string) => send(port2, method, path, headers, body);
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
