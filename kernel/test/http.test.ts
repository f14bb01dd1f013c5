import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { startTestKernel } from '../src/testing/test-kernel.ts';

t.test('HTTP edge', async (t) => {
  const tk = await startTestKernel({
    config: { http: { bodyLimit: 2048 }, plugins: { 'cozy-ts-plugin-hello': { greeting: 'Hi' } } },
  });
  t.teardown(() => tk.close());
  await tk.createInstance('alice.localhost:8080');
  await tk.createInstance('bücher.example');
  const app = tk.kernel.app;

  t.test('a known Host reaches its instance through the plugin route', async (t) => {
    const res = await app.inject({ method: 'GET', url: '/hello/', headers: { host: 'alice.localhost:8080' } });
    t.equal(res.statusCode, 200);
    t.same(res.json(), { greeting: 'Hi, alice.localhost:8080!', domain: 'alice.localhost:8080' });
    t.match(res.headers['x-request-id'], /.+/);
  });

  t.test('the port is part of the instance: another port is another host', async (t) => {
    const res = await app.inject({ method: 'GET', url: '/hello/', headers: { host: 'alice.localhost:9999' } });
    t.equal(res.statusCode, 404);
  });

  t.test('Host is matched case-insensitively', async (t) => {
    const res = await app.inject({ method: 'GET', url: '/hello/', headers: { host: 'ALICE.Localhost:8080' } });
    t.equal(res.statusCode, 200);
  });

  t.test('an IDN in punycode reaches the instance created with its unicode name', async (t) => {
    const res = await app.inject({ method: 'GET', url: '/hello/', headers: { host: 'xn--bcher-kva.example' } });
    t.equal(res.statusCode, 200);
    t.equal(res.json().domain, 'bücher.example');
  });

  t.test('an unknown host gets a JSON:API 404', async (t) => {
    const res = await app.inject({ method: 'GET', url: '/hello/', headers: { host: 'nobody.localhost:8080' } });
    t.equal(res.statusCode, 404);
    t.match(res.headers['content-type'], /application\/vnd\.api\+json/);
    const body = res.json();
    t.equal(body.errors[0].status, '404');
    t.equal(body.errors[0].code, 'COZY_ERR_INSTANCE_NOT_FOUND');
  });

  t.test('an unknown host asked for HTML gets a page', async (t) => {
    const res = await app.inject({ method: 'GET', url: '/hello/', headers: { host: 'nobody.localhost', accept: 'text/html' } });
    t.equal(res.statusCode, 404);
    t.match(res.headers['content-type'], /text\/html/);
    t.match(res.body, /Instance not found/);
  });

  t.test('a Host header with odd characters is a 400, not a crash', async (t) => {
    for (const host of ['evil.com/../x', 'a b.com', 'alice@localhost', '[::1', 'x..y', 'a.com:99999', '%00.com', '<script>']) {
      const res = await app.inject({ method: 'GET', url: '/hello/', headers: { host } });
      t.equal(res.statusCode, 400, host);
      t.equal(res.json().errors[0].code, 'COZY_ERR_INVALID_DOMAIN', host);
    }
  });

  t.test('a request with no Host header is a 400 over a real socket, HTTP/1.0 and 1.1', async (t) => {
    await app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = app.server.address() as AddressInfo;
    for (const version of ['1.0', '1.1']) {
      const answer = await rawRequest(port, `GET /hello/ HTTP/${version}\r\nConnection: close\r\n\r\n`);
      t.match(answer, /^HTTP\/1\.[01] 400 /, `HTTP/${version}`);
    }
  });

  t.test('/status answers for any host with every check', async (t) => {
    const res = await app.inject({ method: 'GET', url: '/status', headers: { host: 'whatever.example' } });
    t.equal(res.statusCode, 200);
    const body = res.json();
    t.equal(body.status, 'OK');
    t.equal(body.couchdb, 'healthy');
    t.equal(body.cache, 'healthy');
    t.equal(body.hello, 'healthy');
    t.match(body.latency, { couchdb: /ms$/, cache: /ms$/ });
  });

  t.test('/version tells the kernel and runtime versions', async (t) => {
    const res = await app.inject({ method: 'GET', url: '/version' });
    t.equal(res.statusCode, 200);
    t.match(res.json(), { version: /^\d+\.\d+\.\d+/, runtime_version: process.version });
  });

  t.test('a body over the limit is a 413 and a malformed JSON body a 400', async (t) => {
    const big = await app.inject({
      method: 'POST',
      url: '/hello/',
      headers: { host: 'alice.localhost:8080', 'content-type': 'application/json' },
      payload: JSON.stringify({ x: 'y'.repeat(5000) }),
    });
    t.equal(big.statusCode, 413);
    t.equal(big.json().errors[0].code, 'COZY_ERR_PAYLOAD_TOO_LARGE');
  });

  t.test('an unknown route on a known host is a 404 in JSON:API', async (t) => {
    const res = await app.inject({ method: 'GET', url: '/nothing-here', headers: { host: 'alice.localhost:8080' } });
    t.equal(res.statusCode, 404);
    t.equal(res.json().errors[0].status, '404');
  });
});

function rawRequest(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, '127.0.0.1', () => sock.end(text));
    let out = '';
    sock.on('data', (d) => (out += d.toString('latin1')));
    sock.on('end', () => resolve(out));
    sock.on('error', reject);
  });
}
