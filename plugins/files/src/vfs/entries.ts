import { randomBytes } from 'node:crypto';
import { VFS_TRASH_PATH } from '@cozy-ts/kernel';

/** A new io.cozy.files id: 32 hex chars, as the CouchDB uuids cozy-stack uses. */
export function newFileId(): string {
  return randomBytes(16).toString('hex');
}

export function nowIso(): string {
  return new Date().toISOString();
}

export function isUnderTrash(path: string): boolean {
  return path === VFS_TRASH_PATH || path.startsWith(`${VFS_TRASH_PATH}/`);
}
