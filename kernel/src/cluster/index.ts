/**
 * Picks the cluster backend: Redis when configured (several processes share state), memory otherwise (one
 * process, nothing to share). Each backend is imported only when chosen, so a Pi never loads ioredis.
 */
import type { RedisClusterOptions } from './redis-cluster.ts';
import type { ClusterPorts } from './types.ts';

export interface ClusterConfig {
  redis?: RedisClusterOptions;
}

export async function createClusterPorts(cfg: ClusterConfig): Promise<ClusterPorts> {
  if (cfg.redis) return (await import('./redis-cluster.ts')).createRedisCluster(cfg.redis);
  return (await import('./memory-cluster.ts')).createMemoryCluster();
}

export type { RedisClusterOptions } from './redis-cluster.ts';
export type * from './types.ts';
