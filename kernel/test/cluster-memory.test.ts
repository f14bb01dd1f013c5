import t from 'tap';
import { createMemoryCluster } from '../src/cluster/memory-cluster.ts';
import { clusterContract } from '../src/testing/cluster-contract.ts';

// A memory cluster only exists inside one process, so the two "processes" of the contract are the same
// instance seen twice: what the contract can prove here is the single-process semantics (atomicity between
// concurrent callers, expiry, leases, asynchronous delivery), not sharing across processes.
clusterContract(t, 'memory', async () => {
  const cluster = createMemoryCluster();
  return { a: cluster, b: cluster, cleanup: () => cluster.close() };
});
