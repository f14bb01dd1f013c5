import t from 'tap';
import { startTestKernel } from '../src/testing/test-kernel.ts';
import { makeProject } from './helpers/plugin-fixtures.ts';

const plugin = (id: string, prefix: string, routes: string) => `
import { definePlugin, setErrorFamily, couchRenderer } from '@cozy-ts/kernel';
export default definePlugin({
  manifest: { id: '${id}', name: '${id}', version: '1.0.0', kernel: '^1.0.0', prefix: '${prefix}' },
  async routes(app) { ${routes} },
});
`;

t.test('a JSON body nested 10,000 deep is a 400 on every route, not a stack overflow in what walks it', async (t) => {
  const project = await makeProject([
    {
      name: 'echo',
      // Replying with the body stringifies it: the recursion a deep body used to crash (a 500) on /realtime.
      source: plugin('echo', '/echo', `
        app.addContentTypeParser('application/vnd.api+json', { parseAs: 'string' }, app.getDefaultJsonParser('error', 'error'));
        app.post('/', async (req) => req.body);
      `),
    },
    { name: 'couchy', source: plugin('couchy', '/couchy', `setErrorFamily(app, couchRenderer); app.post('/', async (req) => req.body);`) },
  ]);
  t.teardown(project.cleanup);
  const tk = await startTestKernel({ baseDir: project.dir, config: { http: { bodyLimit: 1024 * 1024 }, plugins: { echo: {}, couchy: {} } } });
  t.teardown(() => tk.close());
  await tk.createInstance('alice.example');
  const post = (url: string, payload: string, type = 'application/json') =>
    tk.kernel.app.inject({ method: 'POST', url, headers: { host: 'alice.example', 'content-type': type }, payload });

  const deepObject = `${'{"$not":'.repeat(10_000)}1${'}'.repeat(10_000)}`;
  const deepArray = `${'['.repeat(10_000)}${']'.repeat(10_000)}`;
  for (const [body, type] of [[deepObject, 'application/json'], [deepArray, 'application/json'], [deepObject, 'application/vnd.api+json']] as const) {
    const res = await post('/echo/', body, type);
    t.equal(res.statusCode, 400, `${type} ${body.slice(0, 12)}`);
    t.match(res.json(), { errors: [{ status: '400', code: 'COZY_ERR_JSON_TOO_DEEP', detail: 'The JSON body is nested deeper than 256 levels' }] });
  }
  const couch = await post('/couchy/', deepArray);
  t.equal(couch.statusCode, 400);
  t.same(couch.json(), { error: 'bad_request', reason: 'The JSON body is nested deeper than 256 levels' }, 'in the route family of the plugin');

  const fine = `${'['.repeat(256)}1${']'.repeat(256)}`;
  const ok = await post('/echo/', fine);
  t.equal(ok.statusCode, 200, '256 levels are fine');
  t.equal(ok.body, fine);
  t.equal((await post('/echo/', `[${fine}]`)).statusCode, 400, '257 are not');
  t.equal((await post('/echo/', '{"a":1}')).statusCode, 200, 'the server still answers');
});
