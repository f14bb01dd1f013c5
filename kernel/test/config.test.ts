import t from 'tap';
import { BootError } from '../src/boot/boot-error.ts';
import { resolveConfig } from '../src/boot/config.ts';

const base = { file: null, baseDir: '/srv/cozy' };

t.test('fills defaults and resolves paths against the config folder', async (t) => {
  const cfg = resolveConfig({}, { ...base, env: {} });
  t.same(cfg.http, { host: '127.0.0.1', port: 8080, bodyLimit: 1048576, trustProxy: false });
  t.equal(cfg.storage, '/srv/cozy/storage');
  t.same(cfg.store, { kind: 'embedded', path: '/srv/cozy/storage/db' });
  t.equal(cfg.defaultInstance, 'localhost:8080');
});

t.test('environment variables override the file', async (t) => {
  const cfg = resolveConfig(
    { http: { port: 8080 }, store: { embedded: { path: './db' } } },
    {
      ...base,
      env: {
        COZY_HTTP_PORT: '9090',
        COZY_COUCHDB_URL: 'http://127.0.0.1:5984',
        COZY_REDIS_URL: 'redis://127.0.0.1:6379',
        COZY_STORAGE: '/var/lib/cozy',
        COZY_LOG_LEVEL: 'warn',
        COZY_DEFAULT_INSTANCE: 'false',
      },
    },
  );
  t.equal(cfg.http.port, 9090);
  t.same(cfg.store, { kind: 'couchdb', url: 'http://127.0.0.1:5984', requestTimeoutMs: 10000 });
  t.same(cfg.redis, { url: 'redis://127.0.0.1:6379' });
  t.equal(cfg.storage, '/var/lib/cozy');
  t.equal(cfg.log.level, 'warn');
  t.equal(cfg.defaultInstance, false);
});

t.test('a malformed config names every bad path at once', async (t) => {
  try {
    resolveConfig(
      { http: { port: 'eighty' }, store: { couchdb: { url: 'ftp://x' } }, redis: {}, colour: 'red', log: { level: 'loud' } },
      { ...base, env: {} },
    );
    t.fail('should throw');
  } catch (err) {
    t.ok(err instanceof BootError);
    const text = (err as Error).message;
    t.match(text, /http\.port: must be integer/);
    t.match(text, /store\.couchdb\.url: must match pattern/);
    t.match(text, /redis\.url: is required/);
    t.match(text, /colour: is not a known setting/);
    t.match(text, /log\.level: must be one of/);
  }
});

t.test('refuses a config that is not an object', async (t) => {
  t.throws(() => resolveConfig(42, { ...base, env: {} }), /must export an object/);
});

t.test('refuses both store kinds at once', async (t) => {
  t.throws(
    () => resolveConfig({ store: { embedded: { path: 'x' }, couchdb: { url: 'http://a' } } }, { ...base, env: {} }),
    /set either store\.embedded or store\.couchdb/,
  );
});
