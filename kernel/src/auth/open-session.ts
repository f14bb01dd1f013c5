import type { FastifyReply, FastifyRequest } from 'fastify';
import type { InstanceDoc } from '../instances/instance.ts';
import { setCookie } from './cookies.ts';
import type { SessionDoc, SessionDuration, SessionService } from './sessions.ts';

/** Opens a browser session after a login or an onboarding: the session, its login-history entry, its cookie. */
export async function openSession(
  sessions: SessionService,
  req: FastifyRequest,
  reply: FastifyReply,
  inst: InstanceDoc,
  duration: SessionDuration,
): Promise<SessionDoc> {
  const session = await sessions.create(inst, duration, { ip: req.ip, userAgent: String(req.headers['user-agent'] ?? '') });
  const cookie = sessions.cookieFor(inst, session);
  setCookie(req, reply, cookie.name, cookie.value, { maxAge: cookie.maxAge, httpOnly: true, sameSite: 'Lax' });
  return session;
}
