import { AUTH, INSTANCES, JOBS, STORE, definePlugin, type PluginContext } from '@cozy-ts/kernel';
import { NotificationCenter } from './center.ts';
import { configSchema, defaults, type NotificationsConfig } from './config.ts';
import { PreferenceStore } from './preferences.ts';
import { notificationRoutes } from './routes.ts';
import { Mailer } from './sendmail.ts';

const SERVICES = Symbol('cozy-ts.notifications.services');
interface Services {
  center: NotificationCenter;
  prefs: PreferenceStore;
  mailer: Mailer;
}
const servicesOf = (ctx: PluginContext<NotificationsConfig>): Services => ctx.container.resolve<Services>(SERVICES);

export default definePlugin<NotificationsConfig>({
  manifest: {
    id: 'notifications',
    name: '@cozy-ts/plugin-notifications',
    version: '0.1.0',
    kernel: '^1.0.0',
    prefix: '/notifications',
    requires: [
      { capability: STORE, range: '^1.0.0' },
      { capability: AUTH, range: '^1.0.0' },
      { capability: INSTANCES, range: '^1.0.0' },
      { capability: JOBS, range: '^1.0.0' },
    ],
  },
  configSchema,
  defaults,
  register(ctx) {
    const store = ctx.use(STORE);
    const jobs = ctx.use(JOBS);
    const mailer = new Mailer(ctx.config, ctx.use(INSTANCES));
    jobs.registerWorker('sendmail', mailer.worker());
    const prefs = new PreferenceStore(store);
    ctx.container.register(SERVICES, { useValue: { center: new NotificationCenter(store, jobs, prefs), prefs, mailer } });
  },
  routes: (app, { ctx }) => {
    const { center, prefs } = servicesOf(ctx);
    return notificationRoutes(app, { auth: ctx.use(AUTH), center, prefs });
  },
  async stop(ctx) {
    servicesOf(ctx).mailer.close();
  },
});
