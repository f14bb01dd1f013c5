import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { readCookie, setCookie } from '../../auth/cookies.ts';
import { checkCsrf, issueCsrf } from '../../auth/csrf.ts';
import { LOGIN_THROTTLED_CODE, LoginThrottle } from '../../auth/login-throttle.ts';
import { checkPassphrase } from '../../auth/onboarding.ts';
import { finishOnboarding } from './onboarding-handler.ts';
import { openSession as openSessionWith } from '../../auth/open-session.ts';
import { checkRedirect, defaultRedirect, instanceUrl, type InstanceOrigin } from '../../auth/redirects.ts';
import { SESSION_COOKIE, type SessionDuration } from '../../auth/sessions.ts';
import { isCozyError } from '../../errors.ts';
import { domainWithoutPort } from '../../instances/domain.ts';
import type { InstanceDoc } from '../../instances/instance.ts';
import { instanceOf } from '../request-context.ts';
import type { AuthRouteDeps } from './deps.ts';
import { homePage } from './pages/home-page.ts';
import { LOGIN_SCRIPT_PATH, PAGE_CSP } from './pages/layout.ts';
import { loginPage } from './pages/login-page.ts';
import { LOGIN_SCRIPT } from './pages/login-script.ts';
import { needOnboardingPage } from './pages/need-onboarding-page.ts';
import { onboardingPage } from './pages/onboarding-page.ts';

/** cozy-stack's text for a wrong passphrase (its "Login Credentials error"). */
const CREDENTIALS_ERROR = 'The password you entered is incorrect, please try again.';
const NOT_ONBOARDED = 'the instance has not been onboarded';
const LOGIN_HISTORY_SHOWN = 20;
const SCRIPT_ETAG = `"${createHash('sha256').update(LOGIN_SCRIPT).digest('base64url').slice(0, 27)}"`;

type Fields = Record<string, unknown>;

function fieldsOf(req: FastifyRequest): Fields {
  const b = req.body;
  return b && typeof b === 'object' && !Array.isArray(b) ? (b as Fields) : {};
}

function str(obj: unknown, name: string): string | undefined {
  const v = (obj as Fields | undefined)?.[name];
  if (Array.isArray(v)) return typeof v[0] === 'string' ? v[0] : undefined;
  return typeof v === 'string' ? v : undefined;
}

// cozy-stack's login form answers JSON to its own script (Accept: application/json) and HTML to a browser.
function wantsJson(req: FastifyRequest): boolean {
  const accept = String(req.headers.accept ?? '');
  return accept.includes('application/json') && !accept.includes('text/html');
}

function originOf(req: FastifyRequest): InstanceOrigin {
  return { domain: instanceOf(req).domain, scheme: req.protocol === 'https' ? 'https' : 'http' };
}

function saltOf(inst: InstanceDoc): string {
  return `me@${domainWithoutPort(inst.domain)}`;
}

function sendPage(reply: FastifyReply, status: number, page: string): FastifyReply {
  return reply
    .status(status)
    .headers({
      'content-type': 'text/html; charset=utf-8',
      'content-security-policy': PAGE_CSP,
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'same-origin',
      vary: 'Cookie',
    })
    .send(page);
}

function seeOther(reply: FastifyReply, url: URL): FastifyReply {
  return reply.header('cache-control', 'no-store').redirect(url.href, 303);
}

/**
 * Browser login for the kernel: the login and onboarding pages, sessions in and out, /public/prelogin, and the
 * landing page at `/`. Pages are rendered here with a strict CSP; their one script is served as a file.
 * `POST /settings/passphrase` (the settings plugin) is meant to call the same auth/onboarding.ts functions as
 * `POST /auth/onboarding/passphrase` here.
 */
export async function loginRoutes(app: FastifyInstance, deps: AuthRouteDeps): Promise<void> {
  const { sessions, auth } = deps;
  const throttle = new LoginThrottle(deps.cluster.cache);

  const openSession = (req: FastifyRequest, reply: FastifyReply, inst: InstanceDoc, duration: SessionDuration) =>
    openSessionWith(sessions, req, reply, inst, duration);

  function clearSessionCookie(req: FastifyRequest, reply: FastifyReply): void {
    if (readCookie(req, SESSION_COOKIE) !== undefined) setCookie(req, reply, SESSION_COOKIE, '', { maxAge: 0 });
  }

  function renderLogin(req: FastifyRequest, reply: FastifyReply, status: number, redirect: string, error?: string): FastifyReply {
    const inst = instanceOf(req);
    const page = loginPage({
      domain: inst.domain,
      locale: inst.locale,
      publicName: inst.public_name,
      salt: saltOf(inst),
      iterations: inst.kdf_iterations,
      csrfToken: issueCsrf(req, reply, inst),
      redirect,
      error,
    });
    return sendPage(reply, status, page);
  }

  function notOnboarded(req: FastifyRequest, reply: FastifyReply): FastifyReply {
    const inst = instanceOf(req);
    if (wantsJson(req)) return reply.status(412).send({ error: NOT_ONBOARDED });
    return sendPage(reply, 200, needOnboardingPage({ domain: inst.domain, locale: inst.locale }));
  }

  app.get('/auth/login', async (req, reply) => {
    const inst = instanceOf(req);
    if (!inst.onboarding_finished) return notOnboarded(req, reply);
    const raw = str(req.query, 'redirect');
    const redirect = raw ? checkRedirect(originOf(req), raw) : null;
    if (await auth.session(req)) return seeOther(reply, redirect ?? defaultRedirect(originOf(req)));
    return renderLogin(req, reply, 200, redirect?.href ?? '');
  });

  app.post('/auth/login', async (req, reply) => {
    const inst = instanceOf(req);
    const form = fieldsOf(req);
    checkCsrf(req, inst, form.csrf_token);
    if (!inst.onboarding_finished) return notOnboarded(req, reply);
    const raw = str(form, 'redirect') || str(req.query, 'redirect');
    const redirect = raw ? checkRedirect(originOf(req), raw) : defaultRedirect(originOf(req));
    const fail = (status: number, error: string, headers: Record<string, string> = {}) => {
      void reply.headers(headers);
      return wantsJson(req) ? reply.status(status).send({ error }) : renderLogin(req, reply, status, raw ? redirect.href : '', error);
    };

    // As cozy-stack, a browser that already holds a session is simply sent on.
    if (!(await auth.session(req))) {
      try {
        await throttle.begin(inst, req.ip);
      } catch (err) {
        if (isCozyError(err) && err.code === LOGIN_THROTTLED_CODE) return fail(err.status, err.detail, err.headers);
        throw err;
      }
      if (!(await checkPassphrase(inst, form.passphrase))) {
        await throttle.failed(inst, req.ip);
        return fail(401, CREDENTIALS_ERROR);
      }
      await throttle.succeeded(inst, req.ip);
      const longRun = /^(1|t|true|on)$/i.test(str(form, 'long-run-session') ?? '');
      await openSession(req, reply, inst, longRun ? 'long' : 'normal');
    }
    if (wantsJson(req)) return reply.status(200).send({ redirect: redirect.href });
    return seeOther(reply, redirect);
  });

  app.delete('/auth/login', async (req, reply) => {
    const session = await auth.session(req);
    if (!session) return reply.status(401).send({ error: 'Could not retrieve session' });
    await sessions.delete(instanceOf(req), session);
    clearSessionCookie(req, reply);
    return reply.status(204).send();
  });

  app.delete('/auth/login/others', async (req, reply) => {
    const session = await auth.session(req);
    if (!session) return reply.status(401).send({ error: 'Could not retrieve session' });
    await sessions.deleteOthers(instanceOf(req), session._id);
    return reply.status(204).send();
  });

  // Form twins of the two DELETEs for the landing page, which has no script and so can only post forms.
  app.post('/auth/login/others', async (req, reply) => {
    const inst = instanceOf(req);
    checkCsrf(req, inst, fieldsOf(req).csrf_token);
    const session = await auth.session(req);
    if (!session) return seeOther(reply, instanceUrl(originOf(req), '/auth/login'));
    await sessions.deleteOthers(inst, session._id);
    return seeOther(reply, instanceUrl(originOf(req), '/'));
  });

  app.post('/auth/logout', async (req, reply) => {
    const inst = instanceOf(req);
    checkCsrf(req, inst, fieldsOf(req).csrf_token);
    const session = await auth.session(req);
    if (session) await sessions.delete(inst, session);
    clearSessionCookie(req, reply);
    return seeOther(reply, instanceUrl(originOf(req), '/auth/login'));
  });

  app.get('/auth/passphrase', async (req, reply) => {
    const inst = instanceOf(req);
    if (inst.onboarding_finished) return seeOther(reply, defaultRedirect(originOf(req)));
    const registerToken = str(req.query, 'registerToken');
    if (!registerToken || !auth.checkRegisterToken(inst, registerToken)) return notOnboarded(req, reply);
    const page = onboardingPage({ domain: inst.domain, locale: inst.locale, salt: saltOf(inst), iterations: inst.kdf_iterations, registerToken });
    return sendPage(reply, 200, page);
  });

  // cozy-stack's onboarding endpoint is POST /settings/passphrase (the settings plugin); this one serves the
  // kernel's page and answers the same way: 303 for a browser form, 200 {redirect} for a script.
  app.post('/auth/onboarding/passphrase', (req, reply) => finishOnboarding(deps, req, reply));

  app.get('/public/prelogin', async (req, reply) => {
    const inst = instanceOf(req);
    if (!inst.onboarding_finished) return reply.status(412).send({ error: NOT_ONBOARDED });
    return reply.send({
      Kdf: 0,
      KdfIterations: inst.kdf_iterations,
      OIDC: false,
      FranceConnect: false,
      magic_link: false,
      locale: inst.locale,
      name: inst.public_name ?? '',
    });
  });

  app.get('/', async (req, reply) => {
    const inst = instanceOf(req);
    const origin = originOf(req);
    if (!inst.onboarding_finished && inst.register_token) {
      const registerToken = str(req.query, 'registerToken');
      if (!registerToken || !auth.checkRegisterToken(inst, registerToken)) return notOnboarded(req, reply);
      return seeOther(reply, instanceUrl(origin, '/auth/passphrase', { registerToken }));
    }
    const current = await auth.session(req);
    if (!current) return seeOther(reply, instanceUrl(origin, '/auth/login'));
    const [open, history] = await Promise.all([sessions.list(inst), sessions.loginHistory(inst, LOGIN_HISTORY_SHOWN)]);
    const page = homePage({
      domain: inst.domain,
      locale: inst.locale,
      publicName: inst.public_name,
      csrfToken: issueCsrf(req, reply, inst),
      currentSessionId: current._id,
      sessions: open
        .sort((a, b) => b.last_seen.localeCompare(a.last_seen))
        .map((s) => ({ id: s._id, createdAt: s.created_at, lastSeen: s.last_seen, longRun: s.long_run })),
      logins: history.map((l) => ({ ip: String(l.ip ?? ''), userAgent: String(l.user_agent ?? ''), createdAt: String(l.created_at ?? '') })),
    });
    return sendPage(reply, 200, page);
  });

  app.get(LOGIN_SCRIPT_PATH, { config: { cozy: { instance: false } } }, async (req, reply) => {
    void reply.headers({ etag: SCRIPT_ETAG, 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff' });
    if (req.headers['if-none-match'] === SCRIPT_ETAG) return reply.status(304).send();
    return reply.type('text/javascript; charset=utf-8').send(LOGIN_SCRIPT);
  });
}
