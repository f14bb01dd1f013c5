/** Helpers and conformance suites for plugin authors: `@cozy-ts/kernel/testing`. */
export { storeContract } from './store-contract.ts';
export { clusterContract } from './cluster-contract.ts';
export { vfsContract, type VfsSubject, type MakeVfs } from './vfs-contract.ts';
export { startTestKernel, type TestKernel } from './test-kernel.ts';
export { clientPassphraseHash } from '../auth/passphrase.ts';
export { mountTinyDisk, filesUnder } from './disk-fixtures.ts';
