import t from 'tap';
import { startTestKernel } from '../src/testing/test-kernel.ts';
import { makeProject } from './helpers/plugin-fixtures.ts';

const plugin = (id: string, prefix: string, routes: string) => `
import { definePlugin, setErrorFamily, couchRenderer, KernelErrors, StoreErrors, defineError } from '@cozy-ts/kernel';
const teapot = defineError('COZY_ERR_TEAPOT', 418, 'I am a teapot');
export default definePlugin({
  manifest: { id: '${id}', name: '${id}', version: '1.0.0', kernel: '^1.0.0', prefix: '${prefix}' },
  async routes(app) { ${routes} },
});
`;

t.test('each plugin renders errors in its own family; bodies are checked at the edge', async (t) => {
  const project = await makeProject([
    {
      name: 'couchy',
      source: plugin('couchy', '/data', `
        setErrorFamily(app, couchRenderer);
        app.get('/missing', async () => { throw StoreErrors.docNotFound('deleted'); });
        app.get('/boom', async () => { throw new Error('secret internals'); });
        app.post('/echo', async (req) => req.body);
      `),
    },
    {
      name: 'plain',
      source: plugin('plain', '/plain', `
        app.get('/teapot', async () => { throw teapot('short and stout', { source: { parameter: 'kind' } }); });
        app.get('/boom', async () => { throw new Error('secret internals'); });
        app.post('/echo', async (req) => req.body);
      `),
    },
  ]);
  t.teardown(project.cleanup);
  const tk = await startTestKernel({ baseDir: project.dir, config: { http: { bodyLimit: 4096 }, plugins: { couchy: {}, plain: {} } } });
  t.teardown(() => tk.close());
  await tk.createInstance('alice.example');
  const host = 'alice.example';
  const app = tk.kernel.app;

  const couchMissing = await app.inject({ url: '/data/missing', headers: { host } });
  t.equal(couchMissing.statusCode, 404);
  t.same(couchMissing.json(), { error: 'not_found', reason: 'deleted' });

  const couchBoom = await app.inject({ url: '/data/boom', headers: { host } });
  t.equal(couchBoom.statusCode, 500);
  t.notMatch(couchBoom.body, /secret internals/, 'internals are not leaked');
  t.equal(couchBoom.json().error, 'internal_server_error');

  const couchUnknownHost = await app.inject({ url: '/data/missing', headers: { host: 'nobody.example' } });
  t.equal(couchUnknownHost.statusCode, 404);
  t.equal(couchUnknownHost.json().error, 'not_found', 'kernel errors on a plugin route use the plugin family');

  const teapot = await app.inject({ url: '/plain/teapot', headers: { host } });
  t.equal(teapot.statusCode, 418);
  t.same(teapot.json(), {
    errors: [{ status: '418', title: 'Error', code: 'COZY_ERR_TEAPOT', detail: 'short and stout', source: { parameter: 'kind' } }],
  });

  const plainBoom = await app.inject({ url: '/plain/boom', headers: { host } });
  t.equal(plainBoom.statusCode, 500);
  t.notMatch(plainBoom.body, /secret internals/);
  t.equal(plainBoom.json().errors[0].status, '500');

  const echo = await app.inject({ method: 'POST', url: '/plain/echo', headers: { host, 'content-type': 'application/json' }, payload: '{"a":1}' });
  t.same(echo.json(), { a: 1 });

  const malformed = await app.inject({ method: 'POST', url: '/plain/echo', headers: { host, 'content-type': 'application/json' }, payload: '{"a":' });
  t.equal(malformed.statusCode, 400);
  t.equal(malformed.json().errors[0].status, '400');

  const malformedCouch = await app.inject({ method: 'POST', url: '/data/echo', headers: { host, 'content-type': 'application/json' }, payload: '{"a":' });
  t.equal(malformedCouch.statusCode, 400);
  t.equal(malformedCouch.json().error, 'bad_request');

  const tooBig = await app.inject({
    method: 'POST', url: '/plain/echo', headers: { host, 'content-type': 'application/json' }, payload: JSON.stringify({ a: 'x'.repeat(10_000) }),
  });
  t.equal(tooBig.statusCode, 413);

  const wrongType = await app.inject({ method: 'POST', url: '/plain/echo', headers: { host, 'content-type': 'application/x-weird' }, payload: 'x' });
  t.equal(wrongType.statusCode, 415);

  const head = await app.inject({ method: 'HEAD', url: '/plain/teapot', headers: { host } });
  t.equal(head.statusCode, 418);
  t.equal(head.body, '', 'HEAD gets the status only');
});
