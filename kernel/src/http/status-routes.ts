import type { FastifyInstance } from 'fastify';
import type { PluginHealth } from '../plugin-api.ts';
import { KERNEL_VERSION } from '../version.ts';

export interface HealthCheck {
  name: string;
  run(): Promise<PluginHealth | void>;
}

export interface StatusOptions {
  checks: () => HealthCheck[];
  timeoutMs?: number;
}

interface CheckResult {
  healthy: boolean;
  value: string;
  latency: string;
}

async function runCheck(check: HealthCheck, timeoutMs: number): Promise<CheckResult> {
  const started = process.hrtime.bigint();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    const res = await Promise.race([check.run(), timeout]);
    const latency = `${Number(process.hrtime.bigint() - started) / 1e6}ms`;
    if (res && res.status === 'down') return { healthy: false, value: res.detail ?? 'down', latency };
    const value = res && res.status === 'degraded' ? `degraded${res.detail ? `: ${res.detail}` : ''}` : 'healthy';
    return { healthy: true, value, latency };
  } catch (err) {
    return { healthy: false, value: (err as Error).message || 'failed', latency: `${Number(process.hrtime.bigint() - started) / 1e6}ms` };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * `/status` as cozy-stack shapes it (one key per check, `status` OK/KO, per-check latency, 502 when any fails),
 * with every plugin's health beside the kernel's store and cache; `/version`.
 */
export async function statusRoutes(app: FastifyInstance, opts: StatusOptions): Promise<void> {
  const timeoutMs = opts.timeoutMs ?? 5000;
  const global = { config: { cozy: { instance: false } } };

  const status = async () => {
    const checks = opts.checks();
    const results = await Promise.all(checks.map((c) => runCheck(c, timeoutMs)));
    const body: Record<string, unknown> = {};
    const latency: Record<string, string> = {};
    let ok = true;
    checks.forEach((c, i) => {
      const r = results[i] as CheckResult;
      body[c.name] = r.value;
      latency[c.name] = r.latency;
      ok &&= r.healthy;
    });
    return { ok, body: { ...body, status: ok ? 'OK' : 'KO', message: ok ? 'OK' : 'KO', latency } };
  };

  for (const url of ['/status', '/status/']) {
    app.get(url, global, async (_req, reply) => {
      const { ok, body } = await status();
      return reply.status(ok ? 200 : 502).header('cache-control', 'no-cache').send(body);
    });
  }
  app.get('/version', global, async () => ({
    version: KERNEL_VERSION,
    build_mode: process.env.NODE_ENV === 'development' ? 'development' : 'production',
    build_time: null,
    runtime_version: process.version,
  }));
}
