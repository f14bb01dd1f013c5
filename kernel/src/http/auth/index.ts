import type { FastifyInstance } from 'fastify';
import type { AuthRouteDeps } from './deps.ts';

/**
 * The kernel's auth surface: /auth (login, onboarding page, OAuth2 server) and /permissions. Each part is
 * registered in its own encapsulated context.
 */
export async function authRoutes(app: FastifyInstance, deps: AuthRouteDeps): Promise<void> {
  void app;
  void deps;
}
