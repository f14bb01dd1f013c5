import { randomUUID } from 'node:crypto';
import t from 'tap';
import { MemoryBroker } from '../src/broker/memory-broker.ts';
import { RedisBroker } from '../src/broker/redis-broker.ts';
import { brokerContract } from '../src/testing/broker-contract.ts';
import { redisUrl } from './redis.ts';

brokerContract(t, 'memory', async ({ leaseMs }) => new MemoryBroker(leaseMs));

let url = '';
t.before(async () => {
  url = await redisUrl(t);
});
brokerContract(t, 'redis', ({ leaseMs }) => RedisBroker.connect({ url, prefix: `cozy-test-${randomUUID()}`, leaseMs }));
