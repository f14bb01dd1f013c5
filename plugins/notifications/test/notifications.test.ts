import t from 'tap';
import type { JobDoc } from '@cozy-ts/kernel';
import { sleep, startJobsKernel, withInstance, type JobsSetup } from '../../jobs/test/helpers.ts';
import { startSmtpSink } from './helpers.ts';

const DOMAIN = 'alice.example';
const CATEGORIES = {
  'account-balance': { description: 'Negative balance', stateful: true, default_priority: 'high' },
  news: { description: 'What is new' },
};

async function setupCenter(t: Parameters<typeof startSmtpSink>[0]) {
  const sink = await startSmtpSink(t);
  const tk = await startJobsKernel(t, {
    extra: ['notifications'],
    plugins: { '@cozy-ts/plugin-notifications': { smtp: { host: '127.0.0.1', port: sink.port, ignoreTLS: true, timeoutMs: 3_000 } } },
  });
  const inst = await tk.createInstance(DOMAIN, { email: 'alice@example.net' });
  const s = withInstance(tk, inst);
  const store = tk.kernel.store;
  // A web app with its manifest and permissions, and two OAuth clients: one declaring categories, one not.
  await store.put(inst, 'io.cozy.apps', { _id: 'io.cozy.apps/bank', slug: 'bank', state: 'ready', notifications: CATEGORIES });
  await store.put(inst, 'io.cozy.permissions', { _id: 'io.cozy.apps/bank', type: 'app', source_id: 'io.cozy.apps/bank', permissions: {} });
  await store.put(inst, 'io.cozy.oauth.clients', { _id: 'mobile1', client_name: 'Mobile', software_id: 'github.com/me/mobile', redirect_uris: ['http://x/'], notifications: { alerts: {} } });
  await store.put(inst, 'io.cozy.oauth.clients', { _id: 'mobile2', client_name: 'Other', software_id: 'github.com/me/other', redirect_uris: ['http://x/'] });
  await store.put(inst, 'io.cozy.oauth.clients', { _id: 'linked', client_name: 'Bank mobile', software_id: 'registry://bank', redirect_uris: ['http://x/'] });
  const appToken = await tk.kernel.auth.issueToken(inst, 'app', { subject: 'bank' });
  const oauthToken = (client: string) => tk.kernel.auth.issueToken(inst, 'access', { subject: client, scope: 'io.cozy.files' });
  const post = (token: string, attributes: unknown) =>
    tk.kernel.app.inject({ method: 'POST', url: '/notifications', headers: { host: DOMAIN, authorization: `Bearer ${token}`, 'content-type': 'application/vnd.api+json' }, payload: JSON.stringify({ data: { attributes } }) });
  return { sink, s, appToken, oauthToken, post };
}

async function sendmailJobs(s: JobsSetup): Promise<JobDoc[]> {
  const res = await s.tk.kernel.store.find(s.inst, 'io.cozy.jobs', { selector: { worker: 'sendmail' }, limit: 100 });
  return res.docs as JobDoc[];
}

async function until(check: () => boolean | Promise<boolean>, ms = 8_000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await sleep(50);
  }
  return false;
}

t.test('an app notification of a declared category is stored (201) and mailed to the owner', async (t) => {
  const { sink, appToken, post, s } = await setupCenter(t);
  const res = await post(appToken, { category: 'account-balance', category_id: 'my-bank', title: 'Your balance is negative', message: 'Warning: -42 €', state: '-1', data: { k: 'v' } });
  t.equal(res.statusCode, 201, res.body);
  const data = res.json().data;
  t.equal(data.type, 'io.cozy.notifications');
  t.match(data.attributes, { source_id: 'cozy/app/bank/account-balance/my-bank', originator: 'app', slug: 'bank', category: 'account-balance', title: 'Your balance is negative', priority: 'high', state: '-1', data: { k: 'v' } });
  const stored = await s.tk.kernel.store.get(s.inst, 'io.cozy.notifications', data.id);
  t.equal(stored.title, 'Your balance is negative');
  t.ok(await until(() => sink.mails.length === 1), 'one mail');
  t.same(sink.mails[0].to, ['alice@example.net']);
  t.equal(sink.mails[0].from, 'noreply@alice.example');
  t.match(sink.mails[0].raw, /Subject: Your balance is negative/);
  t.match(sink.mails[0].raw, /Warning: -42/);
});

t.test('a stateful notification with the same state is not sent twice', async (t) => {
  const { sink, appToken, post } = await setupCenter(t);
  const one = await post(appToken, { category: 'account-balance', title: 'Balance', state: 'low' });
  const two = await post(appToken, { category: 'account-balance', title: 'Balance', state: 'low' });
  t.equal(two.statusCode, 201);
  t.equal(two.json().data.id, one.json().data.id, 'the last one is returned');
  await post(appToken, { category: 'account-balance', title: 'Balance', state: 'ok' });
  t.ok(await until(() => sink.mails.length === 2));
  await sleep(300);
  t.equal(sink.mails.length, 2, 'two mails, not three');
});

t.test('undeclared categories are 403; bad notifications 400; other callers 403 or 404', async (t) => {
  const { appToken, oauthToken, post, s } = await setupCenter(t);
  t.equal((await post(appToken, { category: 'secret-stuff', title: 'x' })).statusCode, 403, 'undeclared app category');
  t.equal((await post(await oauthToken('mobile1'), { category: 'alerts', title: 'x' })).statusCode, 201, 'declared by the client');
  t.equal((await post(await oauthToken('mobile1'), { category: 'news', title: 'x' })).statusCode, 403, 'undeclared client category');
  t.equal((await post(await oauthToken('mobile2'), { category: 'alerts', title: 'x' })).statusCode, 403, 'client without categories');
  const linked = await post(await oauthToken('linked'), { category: 'news', title: 'x' });
  t.equal(linked.statusCode, 201, 'a client linked to an app uses its manifest');
  t.match(linked.json().data.attributes, { originator: 'oauth', slug: 'bank' });
  const cli = await s.token('io.cozy.notifications');
  t.equal((await post(cli, { category: 'news', title: 'x' })).statusCode, 403, 'a CLI token is not an app');
  const ghost = await s.tk.kernel.store.put(s.inst, 'io.cozy.permissions', { _id: 'io.cozy.apps/ghost', type: 'app', source_id: 'io.cozy.apps/ghost', permissions: {} });
  t.ok(ghost.rev);
  const ghostToken = await s.tk.kernel.auth.issueToken(s.inst, 'app', { subject: 'ghost' });
  t.equal((await post(ghostToken, { category: 'news', title: 'x' })).statusCode, 404, 'app without manifest');
  for (const bad of [{ category: 'news' }, { category: 'news', title: 42 }, { title: 'x' }, { category: 'news', title: 'x', priority: 'urgent' }, { category: 'news', title: 'x', preferred_channels: ['pigeon'] }, { category: 'news', title: 'x', data: [1] }, { category: 'news', title: 'x'.repeat(5_000) }]) {
    t.equal((await post(appToken, bad)).statusCode, 400, JSON.stringify(bad).slice(0, 60));
  }
  const noToken = await s.tk.kernel.app.inject({ method: 'POST', url: '/notifications', headers: { host: DOMAIN, 'content-type': 'application/json' }, payload: '{"data":{"attributes":{"category":"news","title":"x"}}}' });
  t.equal(noToken.statusCode, 401);
});

t.test('per-category preferences turn mail or the in-app copy off', async (t) => {
  const { sink, appToken, post, s } = await setupCenter(t);
  const put = await s.call('PUT', '/notifications/preferences', 'io.cozy.notifications', { categories: { 'bank/news': { mail: false }, '*': { in_app: true } } });
  t.equal(put.statusCode, 200, put.body);
  t.same((await s.call('GET', '/notifications/preferences', 'io.cozy.notifications')).json(), { categories: { 'bank/news': { mail: false }, '*': { in_app: true } } });
  t.equal((await s.call('PUT', '/notifications/preferences', 'io.cozy.notifications', { categories: { 'bank/news': { pigeon: true } } })).statusCode, 400);
  t.equal((await s.call('PUT', '/notifications/preferences', 'io.cozy.notifications', { categories: { 'bank/news': { mail: 'no' } } })).statusCode, 400);
  t.equal((await s.call('PUT', '/notifications/preferences', 'io.cozy.files', { categories: {} })).statusCode, 403);
  const news = await post(appToken, { category: 'news', title: 'No mail for this' });
  t.equal(news.statusCode, 201);
  t.ok(news.json().data.id, 'kept in app');
  await post(appToken, { category: 'account-balance', title: 'Mailed', state: 'x' });
  t.ok(await until(() => sink.mails.length === 1));
  await sleep(300);
  t.equal(sink.mails.length, 1, 'news was not mailed');
  t.match(sink.mails[0].raw, /Subject: Mailed/);
  await s.call('PUT', '/notifications/preferences', 'io.cozy.notifications', { categories: { 'bank/news': { in_app: false, mail: false } } });
  const hidden = await post(appToken, { category: 'news', title: 'Nowhere' });
  t.equal(hidden.statusCode, 201);
  t.equal(hidden.json().data.id, '', 'not stored');
});

t.test('sendmail: a refusing SMTP server makes the job retry then end errored; bad messages error', async (t) => {
  const { sink, s } = await setupCenter(t);
  sink.setFailing(true);
  const res = await s.call('POST', '/jobs/queue/sendmail', 'io.cozy.jobs:POST:sendmail:worker', { data: { attributes: { arguments: { mode: 'noreply', subject: 'Hi', parts: [{ type: 'text/plain', body: 'hello' }] }, options: { max_exec_count: 2 } } } });
  t.equal(res.statusCode, 202, res.body);
  const failed = await s.waitJob(res.json().data.id, (j) => j.state === 'errored', 10_000);
  t.equal(failed.exec_count, 2);
  t.match(failed.error, /mailbox unavailable|550/);
  sink.setFailing(false);
  const bad = await s.call('POST', '/jobs/queue/sendmail', 'io.cozy.jobs', { data: { attributes: { arguments: { mode: 'noreply', parts: [] }, options: { max_exec_count: 1 } } } });
  const j = await s.waitJob(bad.json().data.id, (j) => j.state === 'errored');
  t.match(j.error, /subject/i);
  const from = await s.call('POST', '/jobs/queue/sendmail', 'io.cozy.jobs', { data: { attributes: { arguments: { mode: 'from', to: [{ name: 'Bob', email: 'bob@example.org' }], subject: 'From Alice', parts: [{ type: 'text/html', body: '<p>hi</p>' }] } } } });
  await s.waitJob(from.json().data.id, (j) => j.state === 'done');
  t.same(sink.mails.at(-1)?.to, ['bob@example.org']);
  t.match(sink.mails.at(-1)?.raw, /Reply-To: alice@example.net/);
  t.ok((await sendmailJobs(s)).length >= 3);
});

t.test('at: the mail waits until then; a bad date is 400', async (t) => {
  const { sink, appToken, post } = await setupCenter(t);
  const at = new Date(Date.now() + 1_500).toISOString();
  const res = await post(appToken, { category: 'news', title: 'Later', at });
  t.equal(res.statusCode, 201, res.body);
  t.ok(res.json().data.id, 'in app at once');
  await sleep(800);
  t.equal(sink.mails.length, 0, 'not mailed yet');
  t.ok(await until(() => sink.mails.length === 1), 'mailed at its time');
  t.equal((await post(appToken, { category: 'news', title: 'x', at: 'tomorrow' })).statusCode, 400);
  t.equal((await post(appToken, { category: 'news', title: 'x', at: '2999-01-01T00:00:00Z' })).statusCode, 400);
});
