import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { constantTimeEqual } from '../../auth/auth-service.ts';
import { CsrfErrors } from '../../auth/csrf.ts';
import {
  OAuthClientService,
  OAuthErrors,
  oauthErrorBody,
  type OAuthClientDoc,
} from '../../auth/oauth-clients.ts';
import { AuthorizationCodes, S256_CHALLENGE } from '../../auth/oauth-codes.ts';
import { instanceUrl, type InstanceOrigin } from '../../auth/redirects.ts';
import { signValue, unsignValue } from '../../auth/signed-value.ts';
import { verifyToken } from '../../auth/tokens.ts';
import { defineError, KernelErrors } from '../../errors.ts';
import type { InstanceDoc } from '../../instances/instance.ts';
import { isMaximalType, isWildcardType, parseScope, trimWildcard, VERBS, type Rule, type Verb } from '../../permissions/index.ts';
import { setErrorFamily, type ErrorRenderer } from '../error-edge.ts';
import { instanceOf } from '../request-context.ts';
import type { AuthRouteDeps } from './deps.ts';
import { html, layout } from './pages/layout.ts';

/**
 * The OAuth2 authorization server, as cozy-stack's web/auth (register.go, oauth.go): dynamic client
 * registration, the consent page, and the token endpoint. The JSON endpoints answer errors the way
 * cozy-stack does (`{"error": …}`), the pages answer HTML.
 */

const authorizeError = defineError('COZY_ERR_OAUTH_AUTHORIZE_REQUEST', 400, 'Invalid authorization request');

// The consent token is the session id signed for this purpose: stateless, needs no cookie, and useless on
// another instance, for another session, or as a session cookie (whose signature names another purpose).
const CSRF_PURPOSE = 'oauth-consent';
const PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'";
const MESSAGES = {
  noState: 'The state parameter is mandatory',
  noClientId: 'The client_id parameter is mandatory',
  noRedirectUri: 'The redirect_uri parameter is mandatory',
  noScope: 'The scope parameter is mandatory',
  unknownClient: 'The client must be registered',
  wrongRedirectUri: "The redirect_uri parameter doesn't match the registered ones",
  responseType: 'Invalid response type',
  challengeMethod: 'Invalid challenge code method',
  noChallenge: 'The code_challenge parameter must be given when code_challenge_method is present',
  badChallenge: 'The code_challenge parameter is invalid',
  scope: 'Invalid scope',
} as const;

export async function oauthRoutes(app: FastifyInstance, deps: AuthRouteDeps): Promise<void> {
  const clients = new OAuthClientService(deps.store, deps.instances, deps.cluster.locks);
  const codes = new AuthorizationCodes(deps.cluster.cache);
  await app.register(async (api) => {
    setErrorFamily(api, jsonRenderer);
    api.addHook('onSend', async (_req, reply) => {
      // RFC 6749 §5.1: responses carrying credentials must not be cached.
      void reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
    });
    registrationRoutes(api, clients);
    tokenRoute(api, clients, codes);
  });
  await app.register(async (pages) => {
    setErrorFamily(pages, pageRenderer);
    pages.addHook('onSend', async (_req, reply) => {
      if (!reply.hasHeader('content-security-policy')) void reply.header('content-security-policy', PAGE_CSP);
      // The consent page's URL holds the state, and the page links to the client's site.
      void reply.header('referrer-policy', 'no-referrer').header('cache-control', 'no-store');
    });
    authorizeRoutes(pages, deps, clients, codes);
  });
}

// ---------------------------------------------------------------------------------------------------------
// Registration (RFC 7591 / 7592)

function registrationRoutes(api: FastifyInstance, clients: OAuthClientService): void {
  type WithId = { Params: { clientId: string } };

  api.post('/auth/register', { onRequest: [acceptJson, contentTypeJson] }, async (req, reply) => {
    const client = await clients.register(instanceOf(req), req.body);
    return reply.status(201).send(client);
  });

  api.get<WithId>('/auth/register/:clientId', { onRequest: [acceptJson] }, async (req) => {
    const inst = instanceOf(req);
    const client = await clients.get(inst, req.params.clientId);
    await requireRegistrationToken(req, inst, client);
    return clients.toRegistration(client);
  });

  api.put<WithId>('/auth/register/:clientId', { onRequest: [acceptJson, contentTypeJson] }, async (req) => {
    const inst = instanceOf(req);
    const client = await clients.get(inst, req.params.clientId);
    await requireRegistrationToken(req, inst, client);
    return clients.update(inst, client, req.body);
  });

  // Unregistering an unknown client is a 204, as in cozy-stack: the client's goal is reached either way.
  api.delete<WithId>('/auth/register/:clientId', async (req, reply) => {
    const inst = instanceOf(req);
    const client = await clients.find(inst, req.params.clientId);
    if (client) {
      await requireRegistrationToken(req, inst, client);
      await clients.delete(inst, client);
    }
    return reply.status(204).send();
  });
}

/** cozy-stack's AcceptJSON, except that a request without Accept (anything goes) is served. */
async function acceptJson(req: FastifyRequest): Promise<void> {
  const accept = req.headers.accept;
  if (accept && accept !== '*/*' && !accept.includes('application/json')) throw KernelErrors.badRequest('bad_accept_header');
}

async function contentTypeJson(req: FastifyRequest): Promise<void> {
  if (!String(req.headers['content-type'] ?? '').startsWith('application/json')) throw KernelErrors.badRequest('bad_content_type');
}

/** The client's registration access token: a `registration` JWT of this instance naming this client. */
async function requireRegistrationToken(req: FastifyRequest, inst: InstanceDoc, client: OAuthClientDoc): Promise<void> {
  const header = req.headers.authorization ?? '';
  if (!header.startsWith('Bearer ')) throw OAuthErrors.registrationToken();
  const claims = await verifyToken(inst, header.slice('Bearer '.length).trim(), ['registration']).catch(() => null);
  if (!claims || claims.sub !== client._id) throw OAuthErrors.registrationToken();
}

// ---------------------------------------------------------------------------------------------------------
// Token endpoint

function tokenRoute(api: FastifyInstance, clients: OAuthClientService, codes: AuthorizationCodes): void {
  api.post('/auth/access_token', async (req) => {
    const inst = instanceOf(req);
    const field = reader(req.body);
    const grant = field('grant_type');
    const clientId = field('client_id');
    const secret = field('client_secret');
    if (!grant) throw OAuthErrors.tokenRequest('the grant_type parameter is mandatory');
    if (!clientId) throw OAuthErrors.tokenRequest('the client_id parameter is mandatory');
    if (!secret) throw OAuthErrors.tokenRequest('the client_secret parameter is mandatory');
    const client = await clients.find(inst, clientId);
    if (!client) throw OAuthErrors.tokenRequest('the client must be registered');
    if (!clients.checkSecret(client, secret)) throw OAuthErrors.tokenRequest('invalid client_secret');
    switch (grant) {
      case 'authorization_code': {
        const code = field('code');
        if (!code) throw OAuthErrors.tokenRequest('the code parameter is mandatory');
        const redirectUri = field('redirect_uri') || undefined;
        const { scope } = await codes.redeem(inst, code, { clientId: client._id, redirectUri, verifier: field('code_verifier') });
        return clients.issueTokens(inst, client, scope, true);
      }
      case 'refresh_token': {
        const claims = await clients.verifyRefreshToken(inst, client, field('refresh_token'));
        if (!claims) throw OAuthErrors.tokenRequest('invalid refresh token');
        return clients.issueTokens(inst, client, claims.scope ?? '', false);
      }
      default:
        throw OAuthErrors.tokenRequest('invalid grant type');
    }
  });
}

const jsonRenderer: ErrorRenderer = (err) => ({
  contentType: 'application/json; charset=utf-8',
  body: JSON.stringify(err.status >= 500 ? { error: 'internal_server_error' } : oauthErrorBody(err)),
});

// ---------------------------------------------------------------------------------------------------------
// Authorization endpoint

interface AuthorizeRequest {
  state: string;
  clientId: string;
  redirectUri: string;
  scope: string;
  responseType: string;
  challenge: string;
  challengeMethod: string;
}

interface CheckedAuthorize extends AuthorizeRequest {
  client: OAuthClientDoc;
}

function readAuthorize(field: (name: string) => string): AuthorizeRequest {
  return {
    state: field('state'),
    clientId: field('client_id'),
    redirectUri: field('redirect_uri'),
    // cozy-stack trims the scope before anything else looks at it.
    scope: field('scope').trim(),
    responseType: field('response_type'),
    challenge: field('code_challenge'),
    challengeMethod: field('code_challenge_method'),
  };
}

/** cozy-stack's checkAuthorizeParams, in its order, with its messages. PKCE accepts S256 only. */
async function checkAuthorize(inst: InstanceDoc, clients: OAuthClientService, p: AuthorizeRequest): Promise<CheckedAuthorize> {
  if (!p.state) throw authorizeError(MESSAGES.noState);
  if (!p.clientId) throw authorizeError(MESSAGES.noClientId);
  if (!p.redirectUri) throw authorizeError(MESSAGES.noRedirectUri);
  if (p.responseType !== 'code') throw authorizeError(MESSAGES.responseType);
  if (p.challenge && p.challengeMethod !== 'S256') throw authorizeError(MESSAGES.challengeMethod);
  if (p.challengeMethod && !p.challenge) throw authorizeError(MESSAGES.noChallenge);
  if (p.challenge && !S256_CHALLENGE.test(p.challenge)) throw authorizeError(MESSAGES.badChallenge);
  const client = await clients.find(inst, p.clientId);
  if (!client) throw authorizeError(MESSAGES.unknownClient);
  if (!client.redirect_uris.includes(p.redirectUri)) throw authorizeError(MESSAGES.wrongRedirectUri);
  // The maximal scope is for the flagship app, which must prove it holds its code with PKCE.
  if (p.scope === '*' && !p.challenge) throw authorizeError(MESSAGES.noChallenge);
  if (!p.scope) throw authorizeError(MESSAGES.noScope);
  return { ...p, client };
}

/** The rules the user is asked to grant; 400 `Invalid scope` when the scope does not parse. */
function requestedRules(p: CheckedAuthorize): Rule[] {
  let rules: Rule[];
  try {
    rules = parseScope(p.scope);
  } catch {
    throw authorizeError(MESSAGES.scope);
  }
  // cozy-stack would offer to certify the app by a code sent by mail; without that flow, only a client
  // already certified as the flagship may ask for everything.
  if (rules.some((r) => isMaximalType(r.type)) && p.client.flagship !== true) throw authorizeError(MESSAGES.scope);
  return rules;
}

function authorizeRoutes(pages: FastifyInstance, deps: AuthRouteDeps, clients: OAuthClientService, codes: AuthorizationCodes): void {
  pages.get('/auth/authorize', async (req, reply) => {
    const inst = instanceOf(req);
    const p = await checkAuthorize(inst, clients, readAuthorize(reader(req.query)));
    const session = await deps.auth.session(req);
    if (!session) return reply.redirect(loginUrl(req, inst), 303);
    const rules = requestedRules(p);
    const csrf = signValue(inst.session_secret, CSRF_PURPOSE, session._id);
    return reply
      .header('content-security-policy', consentCsp(p))
      .type('text/html; charset=utf-8')
      .send(consentPage(inst, p, rules, csrf));
  });

  pages.post('/auth/authorize', async (req, reply) => {
    const inst = instanceOf(req);
    const field = reader(req.body);
    const session = await deps.auth.session(req);
    const given = unsignValue(inst.session_secret, CSRF_PURPOSE, field('csrf_token'));
    if (!session || given === null || !constantTimeEqual(given, session._id)) throw CsrfErrors.invalid();
    const p = await checkAuthorize(inst, clients, readAuthorize(field));
    if (field('action') === 'deny') {
      return sendRedirect(req, reply, withParams(p.redirectUri, { error: 'access_denied', state: p.state }));
    }
    requestedRules(p);
    const code = await codes.issue(inst, {
      clientId: p.client._id,
      redirectUri: p.redirectUri,
      scope: p.scope,
      challenge: p.challenge || undefined,
    });
    await clients.markAuthorized(inst, p.client);
    req.log.info({ client: p.client._id, scope: p.scope, ip: req.ip }, 'oauth access code created');
    // `access_code` duplicates `code` for cozy-stack's first clients, which read that name.
    return sendRedirect(req, reply, withParams(p.redirectUri, { access_code: code, code, state: p.state }));
  });
}

/**
 * The redirect URI with the parameters set, sorted as Go's url.Values.Encode does, and an empty fragment:
 * a browser would otherwise carry the current page's fragment over to the client (cozy-stack appends "#").
 */
function withParams(uri: string, params: Record<string, string>): string {
  const url = new URL(uri);
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  url.searchParams.sort();
  url.hash = '';
  return `${url.toString()}#`;
}

/** A mobile client asking for JSON gets the deep link to open itself, as in cozy-stack. */
function sendRedirect(req: FastifyRequest, reply: FastifyReply, location: string): FastifyReply {
  if (req.headers.accept === 'application/json') return reply.type('application/json').send({ deeplink: location });
  return reply.redirect(location, 302);
}

function loginUrl(req: FastifyRequest, inst: InstanceDoc): string {
  const origin: InstanceOrigin = { domain: inst.domain, scheme: req.protocol === 'https' ? 'https' : 'http' };
  return instanceUrl(origin, '/auth/login', { redirect: instanceUrl(origin, req.url).href }).href;
}

/** The consent form posts to us and we redirect to the client: both must be allowed as form targets. */
function consentCsp(p: CheckedAuthorize): string {
  const directives = ["default-src 'none'", "style-src 'unsafe-inline'"];
  const logo = webUrl(p.client.logo_uri);
  if (logo) directives.push(`img-src ${logo.origin}`);
  directives.push(`form-action 'self' ${sourceOf(new URL(p.redirectUri))}`, "frame-ancestors 'none'", "base-uri 'none'");
  return directives.join('; ');
}

/** A CSP source for a URL: its origin on the web, its scheme for an app's custom scheme (`cozy:`). */
function sourceOf(url: URL): string {
  return url.protocol === 'http:' || url.protocol === 'https:' ? url.origin : url.protocol;
}

/** An http(s) URL we may link to, or null (a `javascript:` client_uri must not become a link). */
function webUrl(raw: string | undefined): URL | null {
  if (!raw) return null;
  try {
    const url = new URL(raw);
    return url.protocol === 'https:' || url.protocol === 'http:' ? url : null;
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Pages

const DOCTYPE_NAMES: Readonly<Record<string, string>> = {
  'io.cozy.accounts': 'Accounts',
  'io.cozy.apps': 'List of installed applications',
  'io.cozy.bank.accounts': 'Banking accounts',
  'io.cozy.bank.operations': 'Bank transactions',
  'io.cozy.bills': 'Bills',
  'io.cozy.calendar': 'Calendar',
  'io.cozy.contacts': 'Contacts',
  'io.cozy.contacts.groups': 'Groups of contacts',
  'io.cozy.files': 'Files',
  'io.cozy.files.versions': 'Files versions',
  'io.cozy.identities': 'Identities',
  'io.cozy.jobs': 'Jobs',
  'io.cozy.konnectors': 'Connectors for importing data',
  'io.cozy.notifications': 'Application notifications preferences',
  'io.cozy.oauth.clients': 'Connected devices',
  'io.cozy.permissions': 'Delegating permissions',
  'io.cozy.photos.albums': 'Photo albums',
  'io.cozy.settings': 'Settings',
  'io.cozy.sharings': 'List of sharings',
  'io.cozy.tags': 'Tags',
  'io.cozy.triggers': 'Scheduling jobs',
};
const WORKER_NAMES: Readonly<Record<string, string>> = {
  konnector: 'Running a connector to import data',
  log: 'Storing a message in the system logs',
  sendmail: 'Sending a mail',
};
const VERB_WORDS: Readonly<Record<Verb, string>> = { GET: 'read', POST: 'create', PUT: 'modify', PATCH: 'modify', DELETE: 'delete' };

interface RuleInWords {
  what: string;
  doctype?: string;
  access: string;
  only?: string;
}

/** A rule as the owner reads it on the consent page: what data, which actions, which documents. */
function describeRule(rule: Rule): RuleInWords {
  const verbs = rule.verbs.isAll() ? [...VERBS] : rule.verbs.toArray();
  const access = [...new Set(verbs.map((v) => VERB_WORDS[v]))].join(', ');
  if (isMaximalType(rule.type)) return { what: 'All the data', access };
  const values = rule.values ?? [];
  const selector = rule.selector || '_id';
  const stem = trimWildcard(rule.type);
  const isWorkerRule = (stem === 'io.cozy.jobs' || stem === 'io.cozy.triggers') && selector === 'worker' && values.length === 1;
  const worker = isWorkerRule ? WORKER_NAMES[values[0]] : undefined;
  if (worker) return { what: worker, doctype: rule.type, access };
  let what = DOCTYPE_NAMES[stem] ?? stem;
  if (isWildcardType(rule.type)) what += ', and related documents';
  let only: string | undefined;
  if (values.length > 0) {
    only = selector === '_id'
      ? `only the document${values.length > 1 ? 's' : ''} ${values.join(', ')}`
      : `only those whose ${selector} is ${values.join(' or ')}`;
  }
  return { what, doctype: rule.type, access, only };
}

function consentPage(inst: InstanceDoc, p: CheckedAuthorize, rules: Rule[], csrf: string): string {
  const name = p.client.client_name;
  const site = webUrl(p.client.client_uri);
  const logo = webUrl(p.client.logo_uri);
  const policy = webUrl(p.client.policy_uri);
  const items = rules.map((rule) => {
    const d = describeRule(rule);
    return html`<li><strong>${d.what}</strong>${d.doctype ? html` <code>${d.doctype}</code>` : ''}: ${d.access}${d.only ? ` (${d.only})` : ''}</li>`;
  });
  const hidden = (field: string, value: string) => html`<input type="hidden" name="${field}" value="${value}" />`;
  const body = html`<h1>Authorize ${name} to access your profile</h1>
${logo ? html`<img src="${logo.href}" height="48" alt="" />` : ''}
<p><strong>${site ? html`<a href="${site.href}">${name}</a>` : name}</strong> would like permission to access your Cozy <strong>${inst.domain}</strong>:</p>
<ul class="permissions">${items}</ul>
${policy ? html`<p class="help">You can read its policy about the usage it will make of your data <a href="${policy.href}">here</a>.</p>` : ''}
<form method="POST" action="/auth/authorize">
${[
    hidden('csrf_token', csrf),
    hidden('client_id', p.client._id),
    hidden('state', p.state),
    hidden('redirect_uri', p.redirectUri),
    hidden('scope', p.scope),
    hidden('response_type', 'code'),
    hidden('code_challenge', p.challenge),
    hidden('code_challenge_method', p.challengeMethod),
  ]}
<p class="help">By choosing <strong>Authorize</strong>, you accept that the application obtains access to these data.</p>
<p><button type="submit" name="action" value="allow">Authorize</button> <button class="secondary" type="submit" name="action" value="deny">Deny</button></p>
</form>`;
  return layout({ title: `Authorize ${name}`, locale: inst.locale, body });
}

const pageRenderer: ErrorRenderer = (err, req) => {
  const detail = err.status >= 500 ? 'Internal server error' : err.detail;
  const body = html`<h1>${err.title}</h1>
<p class="error">${detail}</p>`;
  return { contentType: 'text/html; charset=utf-8', body: layout({ title: err.title, locale: req.instance?.locale ?? 'en', body }) };
};

// ---------------------------------------------------------------------------------------------------------
// Parameters

/** String fields of a form, JSON body or query; anything else (absent, array, object) reads as "". */
function reader(source: unknown): (name: string) => string {
  const obj = typeof source === 'object' && source !== null ? (source as Record<string, unknown>) : {};
  return (name) => {
    if (!Object.hasOwn(obj, name)) return '';
    const value = obj[name];
    const first = Array.isArray(value) ? value[0] : value;
    return typeof first === 'string' ? first : '';
  };
}
