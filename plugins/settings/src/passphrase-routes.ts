import type { FastifyInstance, FastifyRequest } from 'fastify';
import {
  AuthErrors, FORCE_PASSPHRASE, acceptForms, changePassphrase, checkPassphrase, domainWithoutPort, instanceOf, openSession,
  finishOnboarding, type PassphraseDeps,
} from '@cozy-ts/kernel';

const SETTINGS_DOCTYPE = 'io.cozy.settings';

function fields(req: FastifyRequest): Record<string, unknown> {
  const b = req.body;
  return b && typeof b === 'object' && !Array.isArray(b) ? (b as Record<string, unknown>) : {};
}

/**
 * cozy-stack's `/settings/passphrase`: onboarding with the register token, change with the current passphrase
 * (or `force` from the owner's CLI), check. All hashing and session work is the kernel's (auth/onboarding.ts).
 */
export function passphraseRoutes(app: FastifyInstance, deps: PassphraseDeps): void {
  acceptForms(app);

  app.get('/passphrase', async (req) => {
    await deps.auth.authenticate(req);
    const inst = instanceOf(req);
    return { salt: `me@${domainWithoutPort(inst.domain)}`, kdf: 0, iterations: inst.kdf_iterations };
  });

  app.post('/passphrase', (req, reply) => finishOnboarding(deps, req, reply));

  app.put('/passphrase', async (req, reply) => {
    const caller = await deps.auth.allow(req, 'PUT', SETTINGS_DOCTYPE, { _id: 'io.cozy.settings.passphrase' });
    const body = fields(req);
    const forced = body.force === true && caller.kind === 'cli';
    const session = await deps.auth.session(req);
    const saved = await changePassphrase(deps, instanceOf(req), forced ? FORCE_PASSPHRASE : body.current_passphrase, {
      passphrase: body.new_passphrase,
      iterations: body.iterations,
      hint: body.hint,
    }, session?._id ?? null);
    // The caller's own browser session survives with a fresh cookie; every other one was logged out.
    if (session) await openSession(deps.sessions, req, reply, saved, session.long_run ? 'long' : 'normal');
    if (session) await deps.sessions.delete(saved, session);
    return reply.status(204).send();
  });

  app.post('/passphrase/check', async (req, reply) => {
    await deps.auth.allow(req, 'GET', SETTINGS_DOCTYPE, { _id: 'io.cozy.settings.passphrase' });
    const ok = await checkPassphrase(await deps.instances.get(instanceOf(req).domain), fields(req).passphrase);
    if (!ok) throw AuthErrors.forbidden('Invalid passphrase');
    return reply.status(204).send();
  });
}
