import type { WorkerDefinition } from '@cozy-ts/kernel';
import type { JobsConfig } from './config.ts';
import { JobsErrors } from './errors.ts';

/** A worker type with every default settled (cozy-stack's: 3 tries, 60 s). */
export interface ResolvedWorker {
  type: string;
  concurrency: number;
  maxExecCount: number;
  timeout: number;
  maxTimeout: number;
  backoffMs: number;
  reserved: boolean;
  external: boolean;
  /** cozy-stack's `client` worker: jobs run by a client app, which reports the outcome with PATCH /jobs/:id. */
  client: boolean;
  run?: WorkerDefinition['run'];
}

const WORKER_TYPE = /^[a-z0-9][a-z0-9-]{0,62}$/;

export function queueOf(worker: string): string {
  return `cozy-jobs.${worker}`;
}

export const TRIGGER_QUEUE = 'cozy-triggers';
export const CLIENT_WORKER = 'client';

export class WorkerRegistry {
  readonly #workers = new Map<string, ResolvedWorker>();

  constructor(private readonly config: JobsConfig) {
    for (const [type, o] of Object.entries(config.external.workers)) {
      this.#add(type, { reserved: o.reserved }, true);
    }
    this.#workers.set(CLIENT_WORKER, {
      type: CLIENT_WORKER, concurrency: 0, maxExecCount: 1, timeout: 3_600, maxTimeout: 86_400, backoffMs: 0, reserved: false, external: false, client: true,
    });
  }

  register(type: string, def: WorkerDefinition): void {
    this.#add(type, def, false);
  }

  #add(type: string, def: WorkerDefinition, external: boolean): void {
    if (!WORKER_TYPE.test(type)) throw new Error(`Invalid worker type ${JSON.stringify(type)}`);
    if (this.#workers.has(type)) throw new Error(`Worker type ${type} is already registered`);
    if (!external && !def.run) throw new Error(`Worker ${type} has no run function`);
    const o = (external ? this.config.external.workers[type] : this.config.workers[type]) ?? {};
    const timeout = o.timeout ?? def.timeout ?? 60;
    this.#workers.set(type, {
      type,
      concurrency: o.concurrency ?? def.concurrency ?? 1,
      maxExecCount: o.max_exec_count ?? def.maxExecCount ?? 3,
      timeout,
      maxTimeout: Math.max(timeout, def.maxTimeout ?? 3_600),
      backoffMs: def.backoffMs ?? this.config.backoffMs,
      reserved: def.reserved ?? false,
      external,
      client: false,
      run: def.run,
    });
  }

  get(type: string): ResolvedWorker {
    const w = this.#workers.get(type);
    if (!w) throw JobsErrors.unknownWorker(`Unknown worker type: ${JSON.stringify(String(type).slice(0, 64))}`);
    return w;
  }

  has(type: string): boolean {
    return this.#workers.has(type);
  }

  types(): string[] {
    return [...this.#workers.keys()];
  }

  all(): ResolvedWorker[] {
    return [...this.#workers.values()];
  }
}
