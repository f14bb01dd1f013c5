import t from 'tap';
import { vfsContract } from '@cozy-ts/kernel/testing';
import { MiB } from '../src/config.ts';
import { swiftFor, vfsFor } from './swift.ts';

const swift = await swiftFor(t);
if (swift) {
  vfsContract(t, 'swift', async () => {
    const vfs = vfsFor(swift);
    return { vfs, cleanup: async () => vfs.close() };
  });
  // Small segments: every upload of unknown size past 1 MiB, and the 40 MB one, become static large objects.
  vfsContract(t, 'swift with 1 MiB segments', async () => {
    const vfs = vfsFor(swift, { segmentSize: MiB });
    return { vfs, cleanup: async () => vfs.close() };
  });
}
