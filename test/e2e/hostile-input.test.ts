import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { Agent } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import WebSocket from 'ws';
import { clientPassphraseHash } from '../../kernel/src/testing/index.ts';
import { buildBatch, type CorpusContext, type Tenant } from '../helpers/hostile-corpus.ts';
import { pool, send, sendRaw, type HostileAnswer, type HostileRequest } from '../helpers/hostile-http.ts';
import { ROUTES } from '../helpers/hostile-routes.ts';
import { startServer, type ServerProcess } from '../helpers/processes.ts';

/**
 * A malicious tenant against the whole Pi profile (`cozy serve` with the repository's cozy.config.ts): a seeded
 * batch of a few thousand hostile requests to every route family. Every answer must be below 500, in its route's
 * error shape, and free of the other tenant's data; the server must stay up, and both tenants' data intact.
 * COZY_HOSTILE_SEED replays another batch; COZY_HOSTILE_ONLY=<family> narrows it to one family.
 */
const SEED = Number(process.env.COZY_HOSTILE_SEED ?? 20261127);
const PER_KIND = Number(process.env.COZY_HOSTILE_PER_KIND ?? 1);
const PASSPHRASE = 'a long enough passphrase for fuzzing';
const SCOPE = [
  'io.cozy.files', 'io.cozy.files.versions', 'io.cozy.fuzzdocs', 'io.cozy.fuzzspare', 'io.cozy.fuzzsentinel', 'io.cozy.settings', 'io.cozy.jobs', 'io.cozy.triggers',
  'io.cozy.notifications', 'io.cozy.permissions', 'io.cozy.oauth.clients', 'io.cozy.auth.device_passwords', 'io.cozy.sessions',
  'io.cozy.calendar.events', 'io.cozy.contacts', 'io.cozy.apps',
].join(' ');

interface Http {
  status: number;
  body: string;
  headers: Record<string, string | string[] | undefined>;
}

class Setup {
  // One connection per request: a connection the server closes after an answer then never takes the next request down with it.
  readonly agent = new Agent({ keepAlive: false, maxSockets: 8 });
  constructor(readonly server: ServerProcess, readonly adminBasic: string) {}

  async call(host: string, method: string, path: string, headers: Record<string, string> = {}, body?: string | Buffer, admin = false): Promise<Http> {
    const req: HostileRequest = { family: 'setup', kind: 'setup', server: admin ? 'admin' : 'public', method, path, headers: { host, ...headers }, body, shape: 'any', tenant: 'attacker' };
    return send(this.agent, admin ? this.server.adminPort : this.server.port, req);
  }

  async ok(host: string, method: string, path: string, headers: Record<string, string> = {}, body?: string | Buffer, admin = false): Promise<Http> {
    const res = await this.call(host, method, path, headers, body, admin);
    if (res.status >= 400 || res.status <= 0) throw new Error(`setup ${method} ${path} on ${host}: ${res.status} ${res.body.slice(0, 300)}`);
    return res;
  }

  async admin(method: string, path: string): Promise<Http> {
    return this.ok('127.0.0.1', method, path, { authorization: this.adminBasic }, undefined, true);
  }

  /** Logs in through the login form and returns the `cozysessid=...` cookie. */
  async login(host: string): Promise<string> {
    const page = await this.ok(host, 'GET', '/auth/login', { accept: 'text/html' });
    const csrf = /name="csrf_token" value="([^"]*)"/.exec(page.body)?.[1]?.replace(/&#(\d+);/g, (_, n: string) => String.fromCharCode(Number(n))) ?? '';
    const jar = [page.headers['set-cookie'] ?? []].flat().map((c) => c.split(';')[0]).join('; ');
    const prelogin = JSON.parse((await this.ok(host, 'GET', '/public/prelogin')).body) as { KdfIterations: number };
    const form = new URLSearchParams({ passphrase: await clientPassphraseHash(PASSPHRASE, host, prelogin.KdfIterations), csrf_token: csrf, redirect: '' });
    const res = await this.call(host, 'POST', '/auth/login', { 'content-type': 'application/x-www-form-urlencoded', cookie: jar }, form.toString());
    const session = [res.headers['set-cookie'] ?? []].flat().map((c) => c.split(';')[0] as string).find((c) => c.startsWith('cozysessid='));
    if (!session) throw new Error(`login on ${host} failed: ${res.status} ${res.body.slice(0, 200)}`);
    return session;
  }

  /** An instance with a passphrase, credentials of every kind and one document of each kind the routes name. */
  async tenant(host: string, secret: string): Promise<Tenant> {
    const q = (o: Record<string, string>) => new URLSearchParams(o).toString();
    await this.admin('POST', `/instances?${q({ Domain: host, Passphrase: PASSPHRASE, Email: 'x@example.org' })}`);
    const token = JSON.parse((await this.admin('POST', `/instances/token?${q({ Domain: host, Audience: 'cli', Scope: SCOPE })}`)).body) as string;
    const bearer = { authorization: `Bearer ${token}` };
    const client = async () => JSON.parse((await this.admin('POST', `/instances/oauth_client?${q({ Domain: host, RedirectURI: 'http://127.0.0.1:9/cb', ClientName: 'fuzz', SoftwareID: 'fuzz' })}`)).body) as { client_id: string; registration_access_token: string };
    const kept = await client();
    const spareClient = await client();
    const oauthToken = JSON.parse((await this.admin('POST', `/instances/token?${q({ Domain: host, Audience: 'access', Subject: kept.client_id, Scope: 'io.cozy.files' })}`)).body) as string;
    const jsonapi = { ...bearer, 'content-type': 'application/vnd.api+json' };
    const device = async () => {
      const res = await this.ok(host, 'POST', '/settings/device-passwords', { ...bearer, 'content-type': 'application/json' }, JSON.stringify({ data: { type: 'io.cozy.auth.device_passwords', attributes: { label: 'fuzz', scopes: ['files', 'calendars', 'contacts'] } } }));
      return (JSON.parse(res.body) as { data: { id: string; attributes: { password: string } } }).data;
    };
    const dp = await device();
    const spareDp = await device();
    const basic = `Basic ${Buffer.from(`me:${dp.attributes.password}`).toString('base64')}`;
    const cookie = await this.login(host);
    const spareCookie = await this.login(host);

    const json = { ...bearer, 'content-type': 'application/json' };
    const doc = (doctype: string, body: object) => this.ok(host, 'POST', `/data/${doctype}/`, json, JSON.stringify(body)).then((r) => (JSON.parse(r.body) as { id: string }).id);
    const docId = await doc('io.cozy.fuzzdocs', { title: `doc ${secret}` });
    const spareDoc = await doc('io.cozy.fuzzdocs', { title: 'spare' });
    await doc('io.cozy.fuzzsentinel', { title: `sentinel ${secret}` });
    const mk = async (parent: string, query: string, content?: string) =>
      (JSON.parse((await this.ok(host, 'POST', `/files/${parent}?${query}`, { ...bearer, 'content-type': 'text/plain' }, content)).body) as { data: { id: string } }).data.id;
    const dir = await mk('io.cozy.files.root-dir', 'Type=directory&Name=fuzz');
    const file = await mk(dir, 'Type=file&Name=victim.txt', `first ${secret}`);
    await this.ok(host, 'PUT', `/files/${file}`, { ...bearer, 'content-type': 'text/plain' }, `content ${secret}`);
    const spareFile = await mk(dir, 'Type=file&Name=spare.txt', 'spare');
    const sentinelDir = await mk('io.cozy.files.root-dir', 'Type=directory&Name=sentinel');
    await mk(sentinelDir, `Type=file&Name=keep-${secret}.txt`, `kept ${secret}`);
    const stat = JSON.parse((await this.ok(host, 'GET', `/files/${file}`, bearer)).body) as { data: { relationships?: { old_versions?: { data?: Array<{ id: string }> } } } };
    const version = stat.data.relationships?.old_versions?.data?.[0]?.id ?? 'no-version';
    const link = JSON.parse((await this.ok(host, 'POST', `/files/downloads?Id=${file}`, bearer)).body) as { links: { related: string } };
    const downloadSecret = link.links.related.split('/')[3] as string;
    const perm = JSON.parse((await this.ok(host, 'POST', '/permissions?codes=link', jsonapi, JSON.stringify({ data: { type: 'io.cozy.permissions', attributes: { permissions: { f: { type: 'io.cozy.files', verbs: ['GET'], values: [spareFile] } } } } }))).body) as { data: { id: string } };
    const trigger = async () => (JSON.parse((await this.ok(host, 'POST', '/jobs/triggers', jsonapi, JSON.stringify({ data: { attributes: { type: '@in', arguments: '10h', worker: 'log', message: {} } } }))).body) as { data: { id: string } }).data.id;
    const triggerId = await trigger();
    const spareTrigger = await trigger();
    const job = JSON.parse((await this.ok(host, 'POST', '/jobs/queue/log', jsonapi, JSON.stringify({ data: { attributes: { arguments: { a: 1 } } } }))).body) as { data: { id: string } };

    const dav = { authorization: basic };
    await this.ok(host, 'MKCALENDAR', '/sync/calendars/fuzzcal/', dav);
    const ics = (uid: string, summary: string) => `BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//fuzz//EN\r\nBEGIN:VEVENT\r\nUID:${uid}\r\nDTSTAMP:20240101T000000Z\r\nDTSTART:20240101T100000Z\r\nSUMMARY:${summary}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n`;
    await this.ok(host, 'PUT', '/sync/calendars/fuzzcal/fuzz-1.ics', { ...dav, 'content-type': 'text/calendar' }, ics('fuzz-1', `event ${secret}`));
    await this.ok(host, 'PUT', '/sync/calendars/fuzzcal/spare.ics', { ...dav, 'content-type': 'text/calendar' }, ics('spare', 'spare'));
    const vcf = (uid: string, fn: string) => `BEGIN:VCARD\r\nVERSION:3.0\r\nUID:${uid}\r\nFN:${fn}\r\nN:${fn};;;;\r\nEND:VCARD\r\n`;
    await this.ok(host, 'PUT', '/sync/contacts/default/fuzz-card.vcf', { ...dav, 'content-type': 'text/vcard' }, vcf('fuzz-card', `card ${secret}`));

    const ids = {
      file, dir, doc: docId, trigger: triggerId, job: job.data.id, client: spareClient.client_id, permission: perm.data.id, device: spareDp.id,
      domain: host, version, secret: downloadSecret, doctype: 'io.cozy.fuzzdocs', worker: 'log', davfile: 'fuzz/victim.txt', davdir: 'fuzz/',
      cal: 'fuzzcal', event: 'fuzz-1.ics', book: 'default', card: 'fuzz-card.vcf', token: 'f'.repeat(64), ddoc: 'fuzzddoc', user: 'me',
    };
    const spare = { ...ids, file: spareFile, doc: spareDoc, trigger: spareTrigger, doctype: 'io.cozy.fuzzspare', davfile: 'fuzz/spare.txt', event: 'spare.ics' };
    return { host, token, oauthToken, basic, cookie, spareCookie, regToken: spareClient.registration_access_token, ids, spare };
  }
}

/** What an error body must look like on a route of the given shape; null when it does. */
function shapeProblem(req: HostileRequest, ans: HostileAnswer): string | null {
  if (ans.status < 400 || req.method === 'HEAD' || req.shape === 'any') return null;
  const ct = String(ans.headers['content-type'] ?? '');
  const accept = String([req.headers.accept ?? ''].flat().join(','));
  if (ct.includes('text/html')) {
    return req.shape === 'html' || (accept.includes('text/html') && !accept.includes('json')) ? null : `an HTML error on a ${req.shape} route`;
  }
  if (req.shape === 'dav' && !ct.includes('json')) return null;
  if (req.shape === 'html' && !ct.includes('json')) return null;
  let body: unknown;
  try {
    body = JSON.parse(ans.body);
  } catch {
    return `an error body that is not JSON (${ct || 'no content-type'})`;
  }
  const o = body as { errors?: Array<{ status?: unknown; title?: unknown }>; error?: unknown; reason?: unknown };
  const jsonApi = Array.isArray(o.errors) && o.errors.length > 0 && o.errors[0]?.status === String(ans.status) && typeof o.errors[0]?.title === 'string';
  if (jsonApi) return null;
  // /data answers CouchDB's {error, reason}, or cozy-stack's bare {error} where cozy-stack does (echo errors).
  if (req.shape === 'couch' && typeof o.error === 'string' && (o.reason === undefined || typeof o.reason === 'string')) return null;
  // OAuth endpoints answer RFC 6749's {error}; login routes cozy-stack's bare {error}.
  if (req.shape === 'plain' && typeof o.error === 'string') return null;
  return `an error body not in the ${req.shape} shape`;
}

/** The replication endpoints /data documents as not implemented answer 501, which is what 501 is for. */
function notImplemented(req: HostileRequest, ans: HostileAnswer): boolean {
  return ans.status === 501 && req.family === 'data' && /"error":"not_implemented"/.test(ans.body);
}

/** cozy-stack answers 204 to deleting an OAuth client that is already gone, whoever asks (an earlier request may have). */
function goneClient(req: HostileRequest, ans: HostileAnswer): boolean {
  return req.method === 'DELETE' && req.path.startsWith('/auth/register/') && ans.status === 204;
}

function describe(req: HostileRequest): string {
  const headers = Object.fromEntries(Object.entries(req.headers).filter(([k]) => k !== 'host').map(([k, v]) => [k, String(v).length > 80 ? `${String(v).slice(0, 80)}…(${String(v).length})` : v]));
  const body = req.body === undefined ? '' : ` body=${JSON.stringify(String(req.body).slice(0, 120))}${String(req.body).length > 120 ? `…(${String(req.body).length})` : ''}`;
  const path = req.path.length > 160 ? `${req.path.slice(0, 160)}…(${req.path.length})` : req.path;
  return `[${req.family}/${req.kind}] ${req.method} ${path} host=${String(req.headers.host)} headers=${JSON.stringify(headers)}${body}`;
}

t.test('a malicious tenant gets clear 4xx answers from every route family, and nobody loses data', async (t) => {
  const started = Date.now();
  const storage = await mkdtemp(join(tmpdir(), 'cozy-hostile-'));
  t.teardown(() => rm(storage, { recursive: true, force: true }));
  const server = await startServer({ COZY_STORAGE: storage, COZY_DEFAULT_INSTANCE: 'false', COZY_LOG_LEVEL: 'error' });
  t.teardown(() => server.stop());
  const adminPass = (await readFile(join(storage, 'admin-passphrase'), 'utf8')).trim();
  const setup = new Setup(server, `Basic ${Buffer.from(`admin:${adminPass}`).toString('base64')}`);
  t.teardown(() => setup.agent.destroy());

  const secret = `victimsecret${randomBytes(6).toString('hex')}`;
  const victim = await setup.tenant(`alice.localhost:${server.port}`, secret);
  const attacker = await setup.tenant(`mallory.localhost:${server.port}`, `attackerown${randomBytes(6).toString('hex')}`);
  const spareHost = `spare.localhost:${server.port}`;
  await setup.admin('POST', `/instances?Domain=${spareHost}`);
  attacker.spare.domain = spareHost;
  // A download secret of the victim would rightly open the victim's file to anybody: never aim it.
  victim.ids.secret = 'no-secret';
  victim.spare.secret = 'no-secret';
  const ctx: CorpusContext = { attacker, victim, adminBasic: setup.adminBasic };
  const victimBefore = await victimState(setup, victim);
  t.match(JSON.stringify(victimBefore), secret, 'the victim holds the secret in every kind of data');

  await t.test('the route table has no family the batch misses', async (t) => {
    // Each mounted prefix of the Pi profile, as printRoutes shows them, must have hostile requests of its own.
    const prefixes = ['/auth', '/permissions', '/settings', '/data', '/files', '/dav/files', '/remote.php', '/ocs', '/login', '/index.php', '/sync', '/.well-known', '/realtime', '/jobs', '/notifications', '/hello', '/public', '/status', '/version'];
    for (const p of prefixes) t.ok(ROUTES.some((r) => r.path.startsWith(p)), `${p} is covered`);
    const unknown = await setup.call(attacker.host, 'GET', '/apps/', { authorization: `Bearer ${attacker.token}` });
    t.equal(unknown.status, 404, 'no /apps plugin in the Pi profile, so nothing to cover there');
  });

  const only = process.env.COZY_HOSTILE_ONLY;
  const batch = buildBatch(only ? ROUTES.filter((r) => r.family === only) : ROUTES, ctx, SEED, PER_KIND);
  const problems = new Map<string, string[]>();
  const counts = new Map<string, number>();
  const note = (family: string, msg: string) => problems.set(family, [...(problems.get(family) ?? []), msg]);
  let crashed: string | null = null;
  let sinceCheck = 0;

  await t.test(`${batch.length} hostile requests (seed ${SEED})`, async (t) => {
    await pool(batch, 4, async (req) => {
      if (crashed) return;
      const ans = await send(setup.agent, req.server === 'admin' ? server.adminPort : server.port, req);
      counts.set(req.family, (counts.get(req.family) ?? 0) + 1);
      const found: string[] = [];
      if (ans.status === 0) found.push(`no answer: ${ans.body}`);
      if (ans.status >= 500 && !notImplemented(req, ans)) found.push(`status ${ans.status}`);
      if (ans.body.includes(secret)) found.push('LEAK of the other tenant\'s data');
      if (req.kind === 'cross-tenant' && !req.open && ans.status > 0 && ans.status < 300 && !goneClient(req, ans)) found.push(`a foreign credential was accepted (${ans.status})`);
      const shape = ans.status > 0 ? shapeProblem(req, ans) : null;
      if (shape) found.push(shape);
      if (found.length > 0) note(req.family, `${found.join('; ')} ← ${describe(req)} → ${ans.status} ${ans.body.slice(0, 200)}`);
      if (++sinceCheck >= 250) {
        sinceCheck = 0;
        if (server.child.exitCode !== null || server.child.signalCode !== null) crashed = `the server exited (${server.child.exitCode ?? server.child.signalCode}) near ${describe(req)}`;
      }
    });
    t.equal(crashed, null, 'the server never crashed');
    const alive = await setup.call(attacker.host, 'GET', '/version');
    t.equal(alive.status, 200, 'the server still answers');
    if (process.env.COZY_HOSTILE_REPORT) await writeFile(process.env.COZY_HOSTILE_REPORT, JSON.stringify({ ...Object.fromEntries(problems), serverLog: server.output().split('\n') }, null, 1));
    for (const [family, n] of [...counts].sort()) {
      const list = problems.get(family) ?? [];
      if (list.length === 0) t.pass(`${family}: ${n} requests, all answered well`);
      for (const p of list.slice(0, 20)) t.fail(`${family}: ${p}`);
      if (list.length > 20) t.fail(`${family}: ${list.length - 20} more bad answers (COZY_HOSTILE_REPORT=<file> lists them all)`);
    }
  });

  await t.test('raw protocol garbage gets a 4xx or a closed connection, never a crash', async (t) => {
    const host = attacker.host;
    const raws = [
      'GARBAGE\r\n\r\n', 'GET / HTTP/9.9\r\n\r\n', 'GET /\r\n\r\n', `GET /%00 HTTP/1.1\r\nHost: ${host}\r\n\r\n`,
      `POST /data/io.cozy.fuzzdocs/ HTTP/1.1\r\nHost: ${host}\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
      `POST /data/io.cozy.fuzzdocs/ HTTP/1.1\r\nHost: ${host}\r\nTransfer-Encoding: chunked\r\n\r\nZZZ\r\nxx\r\n0\r\n\r\n`,
      `POST /data/io.cozy.fuzzdocs/ HTTP/1.1\r\nHost: ${host}\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\nAuthorization: Bearer ${attacker.token}\r\n\r\nFFFFFFFFFFFFFFFF\r\n{}\r\n0\r\n\r\n`,
      `PUT /files/${attacker.ids.file} HTTP/1.1\r\nHost: ${host}\r\nContent-Length: 1000\r\nAuthorization: Bearer ${attacker.token}\r\n\r\nshort`,
      `GET / HTTP/1.1\r\nHost: ${host}\r\nNoColonHeader\r\n\r\n`, `GET / HTTP/1.1\r\nHost: ${host}\r\nX: a\u0000b\r\n\r\n`,
      `GET / HTTP/1.1\r\nHost: ${host}\r\nHost: ${victim.host}\r\n\r\n`, 'GET / HTTP/1.1\r\nHost: \r\n\r\n', `GET / HTTP/1.1\r\nHost: ${'h'.repeat(300)}\r\n\r\n`,
      `GET / HTTP/1.1\r\nHost: a b c\r\n\r\n`, `GET / HTTP/1.1\r\nHost: [::1\r\n\r\n`, `GET / HTTP/1.1\r\nHost: ${host}\r\nContent-Length: -1\r\n\r\n`,
      `GET http://${victim.host}/data/io.cozy.fuzzdocs/_all_docs?include_docs=true HTTP/1.1\r\nHost: ${host}\r\nAuthorization: Bearer ${attacker.token}\r\n\r\n`,
      `GET /data/io.cozy.fuzzdocs/_all_docs?include_docs=true HTTP/1.1\r\nHost: ${host}\r\nAuthorization: Bearer ${attacker.token}\r\nX-Forwarded-Host: ${victim.host}\r\nForwarded: host=${victim.host}\r\n\r\n`,
      `GET /data/io.cozy.fuzzdocs/_all_docs HTTP/1.1\r\nHost: ${victim.host.toUpperCase()}.\r\nAuthorization: Bearer ${attacker.token}\r\n\r\n`,
      `OPTIONS * HTTP/1.1\r\nHost: ${host}\r\n\r\n`, `CONNECT ${victim.host} HTTP/1.1\r\nHost: ${host}\r\n\r\n`,
    ];
    for (const raw of raws) {
      const answer = await sendRaw(server.port, raw);
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(answer)?.[1] ?? 0);
      counts.set('http', (counts.get('http') ?? 0) + 1);
      t.ok(status === 0 || status < 500, `${JSON.stringify(raw.slice(0, 60))} → ${status || 'closed'}`);
      t.notMatch(answer, secret, 'no data of the other tenant');
    }
    t.equal((await setup.call(attacker.host, 'GET', '/version')).status, 200, 'the server still answers');
  });

  await t.test('realtime: garbage frames and a foreign token never deliver the other tenant\'s events', async (t) => {
    const url = `ws://127.0.0.1:${server.port}/realtime/`;
    const received: string[] = [];
    const open = (host: string) => new Promise<WebSocket>((resolve, reject) => {
      const ws = new WebSocket(url, { headers: { host, origin: `http://${host}` } });
      ws.on('message', (m: Buffer) => received.push(m.toString()));
      ws.on('open', () => resolve(ws));
      ws.on('error', reject);
    });
    const frames: Array<string | Buffer> = [
      '{', '[]', 'null', '{"method":"AUTH"}', '{"method":"AUTH","payload":{}}', `{"method":"AUTH","payload":"${victim.token}"}`,
      JSON.stringify({ method: 'SUBSCRIBE', payload: { type: 'io.cozy.fuzzdocs' } }), JSON.stringify({ method: 'SUBSCRIBE', payload: { type: '__proto__' } }),
      JSON.stringify({ method: 'SUBSCRIBE', payload: { type: 'io.cozy.fuzzdocs', id: '%00' } }), Buffer.from([0xff, 0xfe, 0x00]), 'x'.repeat(2000),
      JSON.stringify({ method: 'UNSUBSCRIBE', payload: { type: [] } }), JSON.stringify({ method: 'X'.repeat(500) }),
    ];
    const sockets: WebSocket[] = [];
    t.teardown(() => sockets.forEach((s) => s.terminate()));
    // The attacker authenticates with its own token, then sends garbage; another socket tries the victim's token.
    for (let i = 0; i < 6; i++) {
      const ws = await open(attacker.host);
      sockets.push(ws);
      ws.send(JSON.stringify({ method: 'AUTH', payload: i % 2 === 0 ? attacker.token : victim.token }));
      ws.send(JSON.stringify({ method: 'SUBSCRIBE', payload: { type: 'io.cozy.fuzzdocs' } }));
      for (const f of frames.slice(i, i + 8)) ws.send(f);
      counts.set('realtime', (counts.get('realtime') ?? 0) + 10);
    }
    const foreign = await open(victim.host);
    sockets.push(foreign);
    foreign.send(JSON.stringify({ method: 'AUTH', payload: attacker.token }));
    foreign.send(JSON.stringify({ method: 'SUBSCRIBE', payload: { type: 'io.cozy.fuzzdocs' } }));
    await new Promise((r) => setTimeout(r, 300));
    // The victim writes in the very doctype the attacker listens to.
    await setup.ok(victim.host, 'POST', '/data/io.cozy.fuzzdocs/', { authorization: `Bearer ${victim.token}`, 'content-type': 'application/json' }, JSON.stringify({ title: `live ${secret}` }));
    await new Promise((r) => setTimeout(r, 500));
    t.ok(received.length > 0, 'the sockets got answers');
    t.notOk(received.some((m) => m.includes(secret)), 'no event of the victim reached the attacker');
    t.equal((await setup.call(attacker.host, 'GET', '/version')).status, 200, 'the server still answers');
  });

  await t.test('a $regex chosen to backtrack exponentially does not stall the server', async (t) => {
    const bearer = { authorization: `Bearer ${attacker.token}`, 'content-type': 'application/json' };
    await setup.ok(attacker.host, 'POST', '/data/io.cozy.fuzzdocs/', bearer, JSON.stringify({ title: `${'a'.repeat(32)}!` }));
    await setup.ok(attacker.host, 'POST', `/files/io.cozy.files.root-dir?Type=file&Name=${'a'.repeat(32)}!`, { ...bearer, 'content-type': 'text/plain' }, 'x');
    for (const [path, field] of [['/data/io.cozy.fuzzdocs/_find', 'title'], ['/files/_find', 'name']] as const) {
      for (const pattern of ['^(a+)+$', '(a|aa)+$', '^(a+)+\\1$']) {
        const started = Date.now();
        const res = await setup.call(attacker.host, 'POST', path, bearer, JSON.stringify({ selector: { [field]: { $regex: pattern } } }));
        counts.set('redos', (counts.get('redos') ?? 0) + 1);
        t.ok(res.status > 0 && res.status < 500, `${path} ${pattern} → ${res.status}`);
        t.ok(Date.now() - started < 3000, `answered in ${Date.now() - started} ms`);
      }
    }
  });

  await t.test('lying and interrupted uploads leave the content as it was', async (t) => {
    const bearer = { authorization: `Bearer ${attacker.token}` };
    const dav = { authorization: attacker.basic };
    // A file of its own: the batch may have renamed, moved or trashed the others (legitimately).
    const created = await setup.ok(attacker.host, 'POST', '/files/io.cozy.files.root-dir?Type=file&Name=upload-target.txt', { ...bearer, 'content-type': 'text/plain' }, 'the original content');
    const id = (JSON.parse(created.body) as { data: { id: string } }).data.id;
    const wrongMd5 = await setup.call(attacker.host, 'PUT', `/files/${id}`, { ...bearer, 'content-type': 'text/plain', 'content-md5': createHash('md5').update('other').digest('base64') }, 'new content');
    t.ok(wrongMd5.status >= 400 && wrongMd5.status < 500, `a Content-MD5 that does not match → ${wrongMd5.status}`);
    const cut = (path: string, auth: string) =>
      sendRaw(server.port, `PUT ${path} HTTP/1.1\r\nHost: ${attacker.host}\r\nAuthorization: ${auth}\r\nContent-Type: text/plain\r\nContent-Length: 100000\r\n\r\n${'z'.repeat(5000)}`, 500);
    await cut(`/files/${id}`, `Bearer ${attacker.token}`);
    await cut('/dav/files/upload-target.txt', attacker.basic);
    await cut('/remote.php/webdav/upload-target.txt', attacker.basic);
    counts.set('uploads', (counts.get('uploads') ?? 0) + 4);
    // The server notices the closed sockets on its own time.
    await new Promise((r) => setTimeout(r, 300));
    t.equal((await setup.ok(attacker.host, 'GET', `/files/download/${id}`, bearer)).body, 'the original content', 'the file still has its old content');
    t.equal((await setup.ok(attacker.host, 'GET', '/dav/files/upload-target.txt', dav)).body, 'the original content', 'and WebDAV serves the same');
    const root = JSON.parse((await setup.ok(attacker.host, 'GET', '/files/io.cozy.files.root-dir', bearer)).body) as { included?: Array<{ attributes: { name: string } }> };
    t.same((root.included ?? []).map((e) => e.attributes.name).filter((n) => n.includes('upload-target')), ['upload-target.txt'], 'no half-written sibling is left');
  });

  await t.test('JSON bodies over the body limit are a 413 in the route\'s error shape', async (t) => {
    const big = `{"title":"${'x'.repeat(4 * 1024 * 1024)}"}`;
    const bearer = { authorization: `Bearer ${attacker.token}`, 'content-type': 'application/json' };
    const routes: Array<[string, string, 'jsonapi' | 'couch']> = [
      ['POST', '/data/io.cozy.fuzzdocs/', 'couch'], ['POST', '/data/io.cozy.fuzzdocs/_bulk_docs', 'couch'], ['POST', '/files/_find', 'jsonapi'],
      ['POST', '/jobs/triggers', 'jsonapi'], ['PUT', '/settings/instance', 'jsonapi'], ['POST', '/permissions', 'jsonapi'], ['POST', '/notifications', 'jsonapi'],
    ];
    for (const [method, path, shape] of routes) {
      const req: HostileRequest = { family: 'oversize', kind: 'oversize', server: 'public', method, path, headers: { host: attacker.host, ...bearer }, body: big, shape, tenant: 'attacker' };
      // Over a raw socket, with only the start of the body: the server answers from Content-Length, and closing a
      // socket with unread bytes resets it (TCP), which would lose the answer on the client's side.
      const head = Object.entries(req.headers).map(([k, v]) => `${k}: ${String(v)}`).join('\r\n');
      const raw = await sendRaw(server.port, `${method} ${path} HTTP/1.1\r\n${head}\r\nContent-Length: ${big.length}\r\n\r\n${big.slice(0, 1000)}`);
      counts.set('oversize', (counts.get('oversize') ?? 0) + 1);
      const [status = '0', headers = '', body = ''] = /^HTTP\/1\.1 (\d{3})[^\r]*\r\n([\s\S]*?)\r\n\r\n([\s\S]*)$/.exec(raw)?.slice(1) ?? [];
      const contentType = /^content-type: *(.*)$/im.exec(headers)?.[1] ?? '';
      t.equal(Number(status), 413, `${method} ${path}`);
      t.equal(shapeProblem(req, { status: Number(status), headers: { 'content-type': contentType }, body, ms: 0 }), null, 'in its error shape');
    }
    t.equal((await setup.call(attacker.host, 'GET', '/version')).status, 200, 'the server still answers');
  });

  await t.test('concurrent MOVEs of one path: one wins, the others are refused', async (t) => {
    const dav = { authorization: attacker.basic };
    for (const base of ['/dav/files', '/remote.php/webdav']) {
      await setup.ok(attacker.host, 'PUT', `${base}/race.txt`, dav, 'race');
      const moves = await Promise.all(Array.from({ length: 8 }, (_, i) =>
        setup.call(attacker.host, 'MOVE', `${base}/race.txt`, { ...dav, destination: `http://${attacker.host}${base}/race-${i}.txt` })));
      counts.set('races', (counts.get('races') ?? 0) + moves.length);
      const statuses = moves.map((m) => m.status);
      t.equal(statuses.filter((s) => s >= 200 && s < 300).length, 1, `${base}: one MOVE moved the file (${statuses.join(',')})`);
      t.ok(statuses.every((s) => s < 500), 'no 5xx');
      const winner = statuses.findIndex((s) => s >= 200 && s < 300);
      t.equal((await setup.call(attacker.host, 'GET', `${base}/race-${winner}.txt`, dav)).body, 'race', 'the file is where the winner put it');
      await setup.call(attacker.host, 'DELETE', `${base}/race-${winner}.txt`, dav);
    }
  });

  await t.test('the victim\'s data and the attacker\'s untouched documents are intact', async (t) => {
    const after = await victimState(setup, victim);
    t.same(after, victimBefore, 'every document, file, event and card of the victim is as it was');
    const bearer = { authorization: `Bearer ${attacker.token}` };
    const sentinel = JSON.parse((await setup.ok(attacker.host, 'GET', '/data/io.cozy.fuzzsentinel/_all_docs?include_docs=true', bearer)).body) as { rows: unknown[] };
    t.equal(sentinel.rows.length, 1, 'the attacker\'s document outside the targeted doctypes is still there');
    const kept = await setup.call(attacker.host, 'GET', '/files/metadata?Path=/sentinel', bearer);
    t.equal(kept.status, 200, 'the attacker\'s folder no request named is still there');
    t.equal((await setup.call(attacker.host, 'GET', '/files/download?Path=/fuzz', bearer)).status < 500, true);
  });

  const wall = (Date.now() - started) / 1000;
  t.comment(`requests per family: ${JSON.stringify(Object.fromEntries([...counts].sort()))}; total ${[...counts.values()].reduce((a, b) => a + b, 0)}; ${wall.toFixed(1)} s`);
});

/** Everything of the victim's the batch could reach, read with the victim's own credentials. */
async function victimState(setup: Setup, v: Tenant): Promise<Record<string, unknown>> {
  const bearer = { authorization: `Bearer ${v.token}` };
  const get = async (path: string, headers: Record<string, string> = bearer) => {
    const res = await setup.call(v.host, 'GET', path, headers);
    return { status: res.status, body: res.body };
  };
  const docs = JSON.parse((await get('/data/io.cozy.fuzzdocs/_all_docs?include_docs=true')).body) as { rows: Array<{ doc?: Record<string, unknown> }> };
  const file = await get(`/files/download/${v.ids.file}`);
  const listing = JSON.parse((await get(`/files/${v.ids.dir}`)).body) as { included?: Array<{ attributes: { name: string } }> };
  const settings = JSON.parse((await get('/settings/instance')).body) as { data: { attributes: Record<string, unknown> } };
  const dav = { authorization: v.basic };
  const event = await get('/sync/calendars/fuzzcal/fuzz-1.ics', dav);
  const card = await get('/sync/contacts/default/fuzz-card.vcf', dav);
  return {
    docs: docs.rows.map((r) => ({ title: r.doc?.title, rev: r.doc?._rev })).filter((d) => !String(d.title).startsWith('live ')),
    file: { status: file.status, md5: createHash('md5').update(file.body).digest('hex'), text: file.body },
    names: (listing.included ?? []).map((e) => e.attributes.name).sort(),
    settings: { email: settings.data.attributes.email, locale: settings.data.attributes.locale, public_name: settings.data.attributes.public_name },
    event: { status: event.status, summary: /SUMMARY:(.*)/.exec(event.body)?.[1]?.trim() },
    card: { status: card.status, fn: /FN:(.*)/.exec(card.body)?.[1]?.trim() },
    sentinel: (JSON.parse((await get('/data/io.cozy.fuzzsentinel/_all_docs?include_docs=true')).body) as { rows: unknown[] }).rows.length,
  };
}
