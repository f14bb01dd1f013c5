import type { Test } from 'tap';
import { startRedisServer } from '../../../test/helpers/redis-process.ts';

/** COZY_TEST_REDIS_URL when set (CI), else a throw-away redis-server for this test file. */
export async function redisUrl(t: Test): Promise<string> {
  const external = process.env.COZY_TEST_REDIS_URL;
  if (external) return external;
  const server = await startRedisServer();
  t.teardown(() => server.kill('SIGTERM'));
  return server.url;
}
