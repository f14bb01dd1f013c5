import { runLitmus } from '@cozy-ts/dav/testing';
import t from 'tap';
import { startWebdav } from './helpers.ts';

t.test('litmus passes all five suites (104 tests) against /dav/files with a device password', async (t) => {
  const env = await startWebdav(t);
  const { summary, output } = await runLitmus(env.url, { user: 'me', password: env.password });
  t.equal(summary, '104 passed, 0 failed, 0 skipped', output);
  t.notMatch(output, /WARNING/, 'no litmus warnings');
});
