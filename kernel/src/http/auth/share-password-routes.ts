import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AUTH_ERROR_CODES } from '../../auth/auth-errors.ts';
import { setCookie } from '../../auth/cookies.ts';
import { signValue } from '../../auth/signed-value.ts';
import { isCozyError } from '../../errors.ts';
import type { InstanceDoc } from '../../instances/instance.ts';
import type { PermissionRecord } from '../../permissions/permission-record.ts';
import { ShareErrors } from '../../permissions/share-errors.ts';
import { instanceOf } from '../request-context.ts';
import type { AuthRouteDeps } from './deps.ts';

/**
 * POST /auth/share-by-link/password (cozy-stack's web/auth/share_by_link.go): the visitor of a
 * password-protected link types the password once, and gets the `pass<permID>` cookie that request
 * authentication then asks for along with the share code.
 */

// The id becomes part of a cookie name, so only characters a cookie name may hold; share ids are 32 hex.
const PERM_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
const FLAT_SLUG = '[a-z0-9]+';

function field(body: unknown, name: string): string {
  const value = typeof body === 'object' && body !== null ? (body as Record<string, unknown>)[name] : undefined;
  return typeof value === 'string' ? value : '';
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The instance itself or one of its apps, on nested (`drive.alice.example`) or flat (`alice-drive.example`) hosts. */
function isInstanceOrigin(origin: string, inst: InstanceDoc): boolean {
  let host: string;
  try {
    host = new URL(origin).host;
  } catch {
    return false;
  }
  const [first, ...rest] = inst.domain.split('.');
  const flat = new RegExp(`^${escapeRegExp(first ?? '')}-${FLAT_SLUG}\\.${escapeRegExp(rest.join('.'))}$`);
  return host === inst.domain || host.endsWith(`.${inst.domain}`) || (rest.length > 0 && flat.test(host));
}

/**
 * The public page of a share is served by an app on its own origin and posts here with credentials.
 * cozy-stack echoes any Origin; only the instance's own origins are echoed here, so no other site can
 * drive the check from a visitor's browser.
 */
function allowInstanceOrigin(req: FastifyRequest, reply: FastifyReply, inst: InstanceDoc): void {
  void reply.header('vary', 'Origin');
  const origin = req.headers.origin;
  if (!origin || !isInstanceOrigin(origin, inst)) return;
  void reply.header('access-control-allow-origin', origin).header('access-control-allow-credentials', 'true');
}

/** A live share, or 404: an expired one is as gone as a missing one here, as in cozy-stack. */
async function liveShare(deps: AuthRouteDeps, inst: InstanceDoc, permId: string): Promise<PermissionRecord> {
  if (!PERM_ID.test(permId)) throw ShareErrors.notFound();
  try {
    return await deps.permissions.find(inst, permId);
  } catch (err) {
    if (isCozyError(err) && err.code === AUTH_ERROR_CODES.expiredToken) throw ShareErrors.notFound('Expired token');
    throw err;
  }
}

export async function sharePasswordRoutes(app: FastifyInstance, deps: AuthRouteDeps): Promise<void> {
  app.post('/auth/share-by-link/password', async (req, reply) => {
    const inst = instanceOf(req);
    allowInstanceOrigin(req, reply, inst);
    const doc = await liveShare(deps, inst, field(req.body, 'perm_id'));
    if (!doc.password) return { password: 'none' };
    if (!(await deps.auth.verifySharePassword(doc, field(req.body, 'password')))) throw ShareErrors.wrongPassword();
    const name = `pass${doc._id}`;
    // A browser-session cookie (cozy's MaxAge 0), HttpOnly, signed for this name so it opens this share only.
    setCookie(req, reply, name, signValue(inst.session_secret, name, doc._id), { httpOnly: true, sameSite: 'Lax' });
    return { password: 'ok' };
  });
}
