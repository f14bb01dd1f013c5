import t from 'tap';
import { runLitmus } from '../testing/litmus.ts';
import { startMemoryServer } from './memory-server.ts';

t.test('litmus passes all 104 tests against the core with the in-memory backend', async (t) => {
  const { app, url } = await startMemoryServer();
  t.teardown(() => app.close());
  const { summary, output } = await runLitmus(url, undefined, 60_000);
  t.equal(summary, '104 passed, 0 failed, 0 skipped', output);
  t.notMatch(output, /WARNING/, 'no litmus warnings');
});
