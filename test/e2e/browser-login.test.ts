import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import t from 'tap';
import { runCozy, startServer } from '../helpers/processes.ts';

/** Debian's package `chromium`; CI installs it (apt-get install -y chromium). */
const CHROMIUM = '/usr/bin/chromium';
// Without the background-networking flags Chromium keeps trying to reach Google, which this network refuses.
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const SCREENSHOT = '/tmp/cozy-browser-login.png';
const PASSWORD = 'Tr0ub4dor & 3, but longer';

t.test('an owner onboards, logs out and logs in again in a real browser', async (t) => {
  if (!existsSync(CHROMIUM)) {
    t.fail(`${CHROMIUM} is missing: install Debian's chromium package (apt-get install -y chromium) to run the browser tests`);
    return;
  }
  const storage = await mkdtemp(join(tmpdir(), 'cozy-e2e-browser-'));
  const profile = await mkdtemp(join(tmpdir(), 'cozy-chromium-'));
  t.teardown(() => Promise.all([rm(storage, { recursive: true, force: true }), rm(profile, { recursive: true, force: true })]));
  const env = { COZY_STORAGE: storage, COZY_DEFAULT_INSTANCE: 'false', COZY_LOG_LEVEL: 'warn' };
  const server = await startServer(env);
  t.teardown(() => server.stop());

  // localhost resolves to 127.0.0.1 and is a secure context for WebCrypto even over plain HTTP.
  const domain = `localhost:${server.port}`;
  const add = await runCozy(['instances', 'add', domain, '--public-name', 'Alice'], { ...env, COZY_ADMIN_URL: `http://127.0.0.1:${server.adminPort}/` });
  t.equal(add.code, 0, add.stderr);
  const link = /Onboarding link: (\S+)/.exec(add.stdout)?.[1];
  t.match(link, new RegExp(`^http://${domain}/\\?registerToken=[0-9a-f]{32}$`));

  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  t.teardown(() => context.close());
  const page = context.pages()[0] ?? (await context.newPage());
  const problems: string[] = [];
  page.on('console', (m) => {
    // The wrong-password page is a 401 on purpose; anything else (a CSP refusal, a script error) is a problem.
    if (m.type() === 'error' && !/status of 401/.test(m.text())) problems.push(m.text());
  });
  page.on('pageerror', (e) => problems.push(e.message));
  // The instance hashes with cozy-stack's 650,000 PBKDF2 iterations: give the browser time.
  page.setDefaultTimeout(30_000);

  await page.goto(link as string);
  t.match(page.url(), `http://${domain}/auth/passphrase?registerToken=`, 'the onboarding link leads to the "choose a password" page');
  await page.fill('#password', PASSWORD);
  await page.fill('#password-confirm', `${PASSWORD}!`);
  await page.click('#onboarding-submit');
  t.equal(await page.textContent('#form-error'), 'The two passwords are different.', 'the page checks the confirmation itself');
  await page.fill('#password-confirm', PASSWORD);
  await page.fill('#hint', 'the horse one');
  await Promise.all([page.waitForURL(`http://${domain}/#=`), page.click('#onboarding-submit')]);
  t.equal(await page.textContent('#logged-in'), 'You are logged in.', 'onboarding lands on the home page, logged in');

  await Promise.all([page.waitForURL(`http://${domain}/auth/login`), page.click('#logout')]);
  t.match(await page.textContent('h1'), 'Alice');

  await page.fill('#password', 'not the password');
  await Promise.all([page.waitForResponse((r) => r.url().endsWith('/auth/login') && r.request().method() === 'POST'), page.click('#login-submit')]);
  await page.waitForSelector('#form-error:not([hidden])');
  t.match(await page.textContent('#form-error'), 'The password you entered is incorrect');
  await page.screenshot({ path: '/tmp/cozy-browser-login-error.png' });

  await page.fill('#password', PASSWORD);
  await Promise.all([page.waitForURL(`http://${domain}/#=`), page.click('#login-submit')]);
  t.equal(await page.textContent('#logged-in'), 'You are logged in.');
  const rows = await page.locator('#sessions tbody tr').count();
  t.ok(rows >= 1, 'the sessions list shows this browser');
  t.match(await page.textContent('#sessions .current'), 'this browser');
  t.match(await page.textContent('#logins'), 'HeadlessChrome', 'the login history shows the browser');
  const cookies = await context.cookies(`http://${domain}/`);
  const session = cookies.find((c) => c.name === 'cozysessid');
  t.ok(session?.httpOnly, 'the session cookie is out of reach of scripts');
  t.equal(session?.sameSite, 'Lax');

  await page.screenshot({ path: SCREENSHOT, fullPage: true });
  t.same(problems, [], 'no script or CSP error in the console');
});
