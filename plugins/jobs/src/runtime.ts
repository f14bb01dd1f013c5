import type { ClusterPorts, DocumentStore, InstanceService } from '@cozy-ts/kernel';
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
    if (!this.#started) throw JobsErrors.brokerUnavailable('The jobs plugin is not started');
    return this.#started;
  }

  async start(events: { on(l: (e: import('@cozy-ts/kernel').DocEvent) => void | Promise<void>): () => void }): Promise<void> {
    if (this.#started) return;
    const c = this.config;
    let broker: Broker;
    if (c.broker === 'redis') {
      if (!c.redis) throw new Error('The redis broker needs redis.url in the jobs plugin config');
      // Loaded only here: BullMQ and ioredis cost a Pi on the memory broker ~15 MiB and ~150 ms at boot for nothing.
      const { RedisBroker } = await import('./broker/redis-broker.ts');
      broker = await RedisBroker.connect({ url: c.redis.url, prefix: c.redis.prefix, leaseMs: c.leaseMs });
    } else {
      broker = new MemoryBroker(c.leaseMs);
    }
    this.service.attach(broker);
    const execution = new Execution(broker, this.service.jobs);
    const runner = new Runner(broker, execution, this.log);
    const triggers = new TriggerService(this.store, this.service, this.cluster, this.instances, c, this.log);
    const external = new ExternalWorkers(broker, this.service.registry, this.service.jobs, execution, c.external.token);
    external.useInstances((domain) => this.instances.find(domain));
    await triggers.start();
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
