import type { FastifyReply, FastifyRequest } from 'fastify';
import { registerPassphrase, type PassphraseDeps } from '../../auth/onboarding.ts';
import { openSession } from '../../auth/open-session.ts';
import { defaultRedirect } from '../../auth/redirects.ts';
import { instanceOf } from '../request-context.ts';

/**
 * Onboarding's answer, shared by the kernel's page endpoint and the settings plugin's `POST /settings/passphrase`
 * (cozy-stack's): the first passphrase is set with the register token, the owner's first session starts, and a
 * browser form gets a 303 to the home page while a script gets 200 `{redirect}`.
 */
export async function finishOnboarding(deps: PassphraseDeps, req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const body = req.body && typeof req.body === 'object' && !Array.isArray(req.body) ? (req.body as Record<string, unknown>) : {};
  const saved = await registerPassphrase(deps, instanceOf(req), body.register_token, {
    passphrase: body.passphrase,
    iterations: body.iterations,
    hint: body.hint,
  });
  await openSession(deps.sessions, req, reply, saved, 'long');
  const redirect = defaultRedirect({ domain: saved.domain, scheme: req.protocol === 'https' ? 'https' : 'http' });
  if (String(req.headers.accept ?? '').includes('text/html')) return reply.header('cache-control', 'no-store').redirect(redirect.href, 303);
  return reply.status(200).send({ redirect: redirect.href });
}
