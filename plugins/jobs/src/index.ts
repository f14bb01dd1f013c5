import { AUTH, CLUSTER, DOC_EVENTS, INSTANCES, JOBS, STORE, definePlugin, type PluginContext } from '@cozy-ts/kernel';
import { configSchema, defaults, type JobsConfig } from './config.ts';
import { jobsRoutes } from './routes.ts';
import { JobsRuntime } from './runtime.ts';

// Per kernel, not per module: two kernels in one process (tests, benchmarks) each get their own runtime.
const RUNTIME = Symbol('cozy-ts.jobs.runtime');
const runtimeOf = (ctx: PluginContext<JobsConfig>): JobsRuntime => ctx.container.resolve<JobsRuntime>(RUNTIME);

export default definePlugin<JobsConfig>({
  manifest: {
    id: 'jobs',
    name: '@cozy-ts/plugin-jobs',
    version: '0.1.0',
    kernel: '^1.0.0',
    prefix: '/jobs',
    provides: [JOBS],
    requires: [
      { capability: STORE, range: '^1.0.0' },
      { capability: AUTH, range: '^1.0.0' },
      { capability: CLUSTER, range: '^1.0.0' },
      { capability: INSTANCES, range: '^1.0.0' },
      { capability: DOC_EVENTS, range: '^1.0.0' },
    ],
  },
  configSchema,
  defaults,
  register(ctx) {
    const runtime = new JobsRuntime(ctx.config, ctx.use(STORE), ctx.use(CLUSTER), ctx.use(INSTANCES), ctx.log);
    // cozy-stack's `log` worker: writes its message to the server log. Handy to try triggers out.
    runtime.service.registerWorker('log', {
      concurrency: 1,
      async run({ job }) {
        ctx.log.info({ domain: job.domain, job: job._id, message: job.message }, 'log worker');
      },
    });
    ctx.container.register(RUNTIME, { useValue: runtime });
    ctx.provide(JOBS, runtime.service);
  },
  routes: (app, { ctx }) => {
    const runtime = runtimeOf(ctx);
    return jobsRoutes(app, {
      auth: ctx.use(AUTH),
      jobs: runtime.service,
      get triggers() {
        return runtime.started.triggers;
      },
      get external() {
        return runtime.started.external;
      },
    });
  },
  async start(ctx) {
    await runtimeOf(ctx).start(ctx.use(DOC_EVENTS));
  },
  async stop(ctx) {
    await runtimeOf(ctx).stop();
  },
  async health(ctx) {
    try {
      await runtimeOf(ctx).started.broker.counts('cozy-triggers');
      return { status: 'ok' };
    } catch (err) {
      return { status: 'down', detail: (err as Error).message };
    }
  },
});
