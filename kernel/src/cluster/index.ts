/**
 * Picks the cluster backend: Redis when configured (several processes share state), memory otherwise (one
 * process, nothing to share).
 */
import { createMemoryCluster } from './memory-cluster.ts';
import { createRedisCluster, type RedisClusterOptions } from './redis-cluster.ts';
import type { ClusterPorts } from './types.ts';

export interface ClusterConfig {
  redis?: RedisClusterOptions;
}

export async function createClusterPorts(cfg: ClusterConfig): Promise<ClusterPorts> {
  return cfg.redis ? createRedisCluster(cfg.redis) : createMemoryCluster();
}

export { createMemoryCluster } from './memory-cluster.ts';
export { createRedisCluster, type RedisClusterOptions } from './redis-cluster.ts';
export type * from './types.ts';
