import { definePlugin, instanceOf, type JsonSchema } from '@cozy-ts/kernel';

interface HelloConfig {
  greeting: string;
}

const configSchema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  properties: { greeting: { type: 'string', minLength: 1, maxLength: 200 } },
};

/** The smallest useful plugin: one route under its prefix that answers with the caller's instance. */
export default definePlugin<HelloConfig>({
  manifest: {
    id: 'hello',
    name: 'cozy-ts-plugin-hello',
    version: '0.1.0',
    kernel: '^1.0.0',
    prefix: '/hello',
  },
  configSchema,
  defaults: { greeting: 'Hello' },
  register(ctx) {
    ctx.log.debug({ greeting: ctx.config.greeting }, 'hello plugin wired');
  },
  async routes(app, { ctx }) {
    app.get('/', async (req) => {
      const instance = instanceOf(req);
      return { greeting: `${ctx.config.greeting}, ${instance.domain}!`, domain: instance.domain };
    });
  },
  async health() {
    return { status: 'ok' };
  },
});
