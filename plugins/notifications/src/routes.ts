import type { FastifyInstance } from 'fastify';
import { JSONAPI_CONTENT_TYPE, acceptJsonApi, instanceOf, readResource, toResource, type AuthService } from '@cozy-ts/kernel';
import { NOTIFICATIONS_DOCTYPE, type NotificationCenter } from './center.ts';
import { checkPreferences, type PreferenceStore } from './preferences.ts';

export async function notificationRoutes(app: FastifyInstance, deps: { auth: AuthService; center: NotificationCenter; prefs: PreferenceStore }): Promise<void> {
  const { auth, center, prefs } = deps;
  acceptJsonApi(app);

  app.post('/', async (req, reply) => {
    const inst = instanceOf(req);
    const who = await auth.authenticate(req);
    const doc = await center.push(inst, who, readResource(req.body).attributes);
    return reply.code(201).type(JSONAPI_CONTENT_TYPE).send({ data: toResource(NOTIFICATIONS_DOCTYPE, doc, doc._id ? { self: `/notifications/${doc._id}` } : undefined) });
  });

  // The user's per-category choices: the settings app holds the whole io.cozy.notifications doctype.
  app.get('/preferences', async (req, reply) => {
    await auth.allowWholeType(req, 'GET', NOTIFICATIONS_DOCTYPE);
    return reply.code(200).send({ categories: (await prefs.get(instanceOf(req))).prefs });
  });

  app.put('/preferences', async (req, reply) => {
    await auth.allowWholeType(req, 'PUT', NOTIFICATIONS_DOCTYPE);
    const categories = checkPreferences((req.body as { categories?: unknown } | null)?.categories);
    return reply.code(200).send({ categories: await prefs.put(instanceOf(req), categories) });
  });
}
