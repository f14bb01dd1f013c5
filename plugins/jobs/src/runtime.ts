import type { ClusterPorts, DocEvent, DocumentStore, InstanceService } from '@cozy-ts/kernel';
import type { Logger } from 'pino';
import { MemoryBroker } from './broker/memory-broker.ts';
import type { Broker } from './broker/types.ts';
import type { JobsConfig } from './config.ts';
import { JobsErrors } from './errors.ts';
import { Execution } from './execution.ts';
import { ExternalWorkers } from './external.ts';
import { JobStore } from './job-store.ts';
import { JobsServiceImpl } from './jobs-service.ts';
import { Runner } from './runner.ts';
import { TriggerService } from './triggers/trigger-service.ts';
import { TRIGGER_QUEUE, WorkerRegistry } from './workers.ts';

/** Trigger firings handled at once per process: each is a few store calls. */
const TRIGGER_CONCURRENCY = 4;
/** Retries to reach Redis when it was away at start: doubling from the first, never further apart than the last. */
const RETRY_MIN_MS = 250;
const RETRY_MAX_MS = 5_000;

type DocEvents = { on(l: (e: DocEvent) => void | Promise<void>): () => void };

/** Resolves after `ms`, or at once when `signal` aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

interface Started {
  broker: Broker;
  runner: Runner;
  triggers: TriggerService;
  external: ExternalWorkers;
  offEvents: () => void;
}

/**
 * Everything the jobs plugin runs, for one kernel. Built in register() (no I/O: the service other plugins
 * register workers on), started in start() (the broker, the loops, the schedule), stopped in stop().
 */
export class JobsRuntime {
  readonly service: JobsServiceImpl;
  #started?: Started;
  /** Set while Redis was away at start() and the background retries run. */
  #connecting?: { abort: AbortController; done: Promise<void> };

  constructor(
    private readonly config: JobsConfig,
    private readonly store: DocumentStore,
    private readonly cluster: ClusterPorts,
    private readonly instances: InstanceService,
    private readonly log: Logger,
  ) {
    this.service = new JobsServiceImpl(new WorkerRegistry(config), new JobStore(store));
  }

  get started(): Started {
    if (!this.#started) {
      throw JobsErrors.brokerUnavailable(this.#connecting ? 'The job broker (Redis) is not reachable yet' : 'The jobs plugin is not started');
    }
    return this.#started;
  }

  /**
   * With Redis away at boot, start() still succeeds (as the kernel does with its store): the broker is connected in
   * the background, and until then the routes and `push` answer 503 and health() says down.
   */
  async start(events: DocEvents): Promise<void> {
    if (this.#started || this.#connecting) return;
    const c = this.config;
    if (c.broker !== 'redis') return this.#launch(new MemoryBroker(c.leaseMs), events);
    if (!c.redis) throw new Error('The redis broker needs redis.url in the jobs plugin config');
    const redis = c.redis;
    // Loaded only here: BullMQ and ioredis cost a Pi on the memory broker ~15 MiB and ~150 ms at boot for nothing.
    const { RedisBroker } = await import('./broker/redis-broker.ts');
    const abort = new AbortController();
    const connect = () => RedisBroker.connect({ url: redis.url, prefix: redis.prefix, leaseMs: c.leaseMs }, abort.signal);
    try {
      // A first try in line, so that with Redis up everything runs before the server listens, as it always did.
      return await this.#launch(await connect(), events);
    } catch (err) {
      this.log.warn({ err }, 'the jobs runtime cannot start (is Redis reachable?): jobs answer 503 meanwhile, retrying in the background');
    }
    this.#connecting = { abort, done: this.#retry(connect, events, abort.signal) };
  }

  async #retry(connect: () => Promise<Broker>, events: DocEvents, signal: AbortSignal): Promise<void> {
    let delay = RETRY_MIN_MS;
    while (!signal.aborted) {
      await sleep(delay, signal);
      if (signal.aborted) return;
      delay = Math.min(delay * 2, RETRY_MAX_MS);
      let broker: Broker;
      try {
        broker = await connect();
      } catch {
        continue; // Logged once when the outage began, not once per try.
      }
      if (signal.aborted) {
        await broker.close();
        return;
      }
      try {
        await this.#launch(broker, events);
        this.log.info('the job broker (Redis) answers: jobs and triggers are running');
        this.#connecting = undefined;
        return;
      } catch (err) {
        this.log.error({ err }, 'cannot start the jobs runtime, retrying');
      }
    }
  }

  async #launch(broker: Broker, events: DocEvents): Promise<void> {
    const c = this.config;
    const execution = new Execution(broker, this.service.jobs);
    const runner = new Runner(broker, execution, this.log);
    const triggers = new TriggerService(this.store, this.service, this.cluster, this.instances, c, this.log);
    const external = new ExternalWorkers(broker, this.service.registry, this.service.jobs, execution, c.external.token);
    external.useInstances((domain) => this.instances.find(domain));
    try {
      await triggers.start();
    } catch (err) {
      await broker.close();
      throw err;
    }
    this.service.attach(broker);
    const offEvents = events.on((e) => triggers.onDocEvent(e));
    runner.start(this.service.registry.all());
    runner.loop(TRIGGER_QUEUE, TRIGGER_CONCURRENCY, (lease) => triggers.fire(lease as never));
    this.#started = { broker, runner, triggers, external, offEvents };
    // In the background: with thousands of instances this takes a while, and the schedule is idempotent.
    void triggers.rescheduleAll().then(
      (n) => this.log.info({ triggers: n }, 'time triggers scheduled'),
      (err: unknown) => this.log.error({ err }, 'cannot schedule the time triggers'),
    );
  }

  async stop(): Promise<void> {
    const connecting = this.#connecting;
    this.#connecting = undefined;
    if (connecting) {
      connecting.abort.abort();
      await connecting.done;
    }
    const s = this.#started;
    if (!s) return;
    this.#started = undefined;
    s.offEvents();
    s.runner.stop();
    await s.triggers.stop();
    await s.broker.close();
    await s.runner.drained();
  }
}
