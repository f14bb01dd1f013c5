import t from 'tap';
import { startTestKernel } from '@cozy-ts/kernel/testing';

t.test('greets the instance the Host header names, with the configured greeting', async (t) => {
  const tk = await startTestKernel({ config: { plugins: { 'cozy-ts-plugin-hello': { greeting: 'Bonjour' } } } });
  t.teardown(() => tk.close());
  await tk.createInstance('alice.example');
  const res = await tk.kernel.app.inject({ url: '/hello/', headers: { host: 'alice.example' } });
  t.equal(res.statusCode, 200);
  t.same(res.json(), { greeting: 'Bonjour, alice.example!', domain: 'alice.example' });
});

t.test('reports itself healthy in /status', async (t) => {
  const tk = await startTestKernel({ config: { plugins: { 'cozy-ts-plugin-hello': {} } } });
  t.teardown(() => tk.close());
  const res = await tk.kernel.app.inject({ url: '/status' });
  t.equal(res.json().hello, 'healthy');
});
