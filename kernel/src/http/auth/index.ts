import type { FastifyInstance } from 'fastify';
import { acceptForms } from '../form-body.ts';
import type { AuthRouteDeps } from './deps.ts';
import { loginRoutes } from './login-routes.ts';
import { oauthRoutes } from './oauth-routes.ts';
import { permissionsRoutes } from './permissions-routes.ts';
import { sharePasswordRoutes } from './share-password-routes.ts';

/**
 * The kernel's auth surface: /auth (login, onboarding page, OAuth2 server) and /permissions. Each part is
 * registered in its own encapsulated context.
 */
export async function authRoutes(app: FastifyInstance, deps: AuthRouteDeps): Promise<void> {
  // Login, consent and share-password forms: one parser for every auth context below.
  acceptForms(app);
  await app.register(async (scoped) => oauthRoutes(scoped, deps));
  await app.register(async (scoped) => permissionsRoutes(scoped, deps));
  await app.register(async (scoped) => sharePasswordRoutes(scoped, deps));
  await app.register(async (scoped) => loginRoutes(scoped, deps));
}
