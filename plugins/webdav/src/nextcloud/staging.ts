import { Readable } from 'node:stream';
import { ROOT_DIR_ID, isCozyError, isDir, type FileDoc, type FilesService, type InstanceRef, type Locks } from '@cozy-ts/kernel';
import { DavErrors, type WriteInput } from '@cozy-ts/dav';

/**
 * Where chunked uploads keep their parts: folders of the instance's own tree, so every process of a farm sees them
 * like any upload, with the quota and the VFS's all-or-nothing writes. Hidden from the Nextcloud mounts; visible in
 * `/files`, Drive and `/dav/files` while an upload runs (the root is removed when its last transfer ends).
 */
export const STAGING_DIR = '/.nextcloud-uploads';
/** A transfer left unfinished this long (the client gave up, or the file changed) is removed by the next one. */
const STALE_MS = 24 * 3600 * 1000;
/** Key of `metadata` marking the folders made here: only they are ever used, swept or removed, never a user's own. */
const STAGING_MARK = 'nextcloudChunkStaging';

export const isStagingPath = (path: string): boolean => path === STAGING_DIR || path.startsWith(`${STAGING_DIR}/`);

export function isStagingDir(doc: FileDoc): boolean {
  return isDir(doc) && (doc.metadata as Record<string, unknown> | undefined)?.[STAGING_MARK] === true;
}

/** A folder found where staging goes that was not made here (a user's own folder of that name): not touched. */
function ours(doc: FileDoc): FileDoc {
  if (!isStagingDir(doc)) throw DavErrors.conflict(`${STAGING_DIR} is a folder of the user's: chunked uploads cannot stage there`);
  return doc;
}

const NATURAL = new Intl.Collator('en', { numeric: true });

function isStatus(err: unknown, status: number): boolean {
  return isCozyError(err) && err.status === status;
}

/** One instance's staged transfers (a transfer = one folder of parts), for one request. */
export class Staging {
  constructor(
    private readonly files: FilesService,
    private readonly locks: Locks,
    private readonly inst: InstanceRef & { domain: string },
  ) {}

  pathOf(transfer: string): string {
    return `${STAGING_DIR}/${transfer}`;
  }

  /** A transfer's folder, or null; 409 when the name is taken by something not made here. */
  async find(transfer: string): Promise<FileDoc | null> {
    const found = await this.#find(this.pathOf(transfer));
    return found ? ours(found) : null;
  }

  /** A transfer's folder, made when missing (then checked for room when the client announced the file's size). */
  async open(transfer: string, totalLength?: number): Promise<FileDoc> {
    const found = await this.find(transfer);
    if (found) return found;
    if (totalLength !== undefined) await this.checkRoom(totalLength);
    return this.create(transfer);
  }

  /**
   * 507 up front, rather than after every part went up, when the file cannot fit: while the file is written its
   * parts still count in the quota, so it takes twice its size.
   */
  async checkRoom(totalLength: number): Promise<void> {
    const { used, quota } = await this.files.diskUsage(this.inst);
    if (quota !== null && 2 * totalLength > quota - used) {
      throw DavErrors.insufficientStorage(`A file of ${totalLength} bytes sent in parts needs twice that free`, { condition: '<D:quota-not-exceeded/>' });
    }
  }

  /** Makes a transfer's folder (`nameTaken` 409 when it exists), sweeping abandoned ones first. */
  create(transfer: string): Promise<FileDoc> {
    return this.#rootLock(async () => {
      await this.#sweep();
      const root = (await this.#find(STAGING_DIR)) ?? (await this.#mkdir(ROOT_DIR_ID, STAGING_DIR.slice(1)));
      const raced = await this.#find(this.pathOf(transfer));
      return raced ? ours(raced) : this.#mkdir(ours(root)._id, transfer);
    });
  }

  /** One transfer at a time across the farm: completing it (or looking whether it is complete) takes this. */
  withTransferLock<T>(transfer: string, fn: () => Promise<T>): Promise<T> {
    return this.locks.withLock(`webdav:nc-chunks:${this.inst.domain}:${transfer}`, { ttlMs: 60_000, waitMs: 120_000 }, fn);
  }

  /** Writes a part (replacing one of the same name: clients resuming send parts again). */
  async writePart(dir: FileDoc, name: string, input: WriteInput): Promise<FileDoc> {
    try {
      const old = await this.#find(`${dir.path}/${name}`);
      if (old) await this.files.destroy(this.inst, old._id);
      const onAbort = () => input.body.destroy(new Error('The client went away during the upload'));
      input.signal.addEventListener('abort', onAbort, { once: true });
      try {
        return await this.files.createFile(this.inst, {
          dirId: dir._id, name, mime: 'application/octet-stream', ...(input.contentLength !== undefined ? { size: input.contentLength } : {}),
        }, input.body);
      } finally {
        input.signal.removeEventListener('abort', onAbort);
      }
    } catch (err) {
      if (!input.body.destroyed) input.body.destroy();
      throw err;
    }
  }

  /** The parts of a transfer sorted by name, or null when its folder is gone (finished meanwhile). */
  async parts(dir: FileDoc): Promise<FileDoc[] | null> {
    const parts: FileDoc[] = [];
    try {
      for await (const doc of this.files.children(this.inst, dir._id)) if (!isDir(doc)) parts.push(doc);
    } catch (err) {
      if (isStatus(err, 404)) return null;
      throw err;
    }
    // Natural order, as Nextcloud assembles: parts named 1, 2, ... 10 come in that order, padded names as they sort.
    return parts.sort((a, b) => NATURAL.compare(a.name, b.name));
  }

  /** The parts' contents one after the other. */
  concat(parts: FileDoc[]): Readable {
    const { files, inst } = this;
    return Readable.from((async function* () {
      for (const part of parts) {
        const { stream } = await files.read(inst, part._id);
        for await (const chunk of stream) yield chunk as Buffer;
      }
    })(), { objectMode: false });
  }

  /** Removes a transfer's folder with its parts, and the staging root once empty. */
  async remove(dir: FileDoc): Promise<void> {
    await this.files.destroy(this.inst, ours(dir)._id).catch((err: unknown) => {
      if (!isStatus(err, 404)) throw err;
    });
    await this.#rootLock(async () => {
      const root = await this.#find(STAGING_DIR);
      if (!root || !isStagingDir(root)) return;
      for await (const _ of this.files.children(this.inst, root._id)) return;
      await this.files.destroy(this.inst, root._id);
    });
  }

  /** Staging folders are made and the staging root removed under one lock, so neither undoes the other. */
  #rootLock<T>(fn: () => Promise<T>): Promise<T> {
    return this.locks.withLock(`webdav:nc-chunks:${this.inst.domain}`, { ttlMs: 30_000, waitMs: 60_000 }, fn);
  }

  async #find(path: string): Promise<FileDoc | null> {
    try {
      return await this.files.statByPath(this.inst, path);
    } catch (err) {
      if (isStatus(err, 404)) return null;
      throw err;
    }
  }

  #mkdir(dirId: string, name: string): Promise<FileDoc> {
    return this.files.createDir(this.inst, { dirId, name, metadata: { [STAGING_MARK]: true } });
  }

  /** Removes transfers nobody finished: called when a new one starts, so it costs nothing per part. */
  async #sweep(): Promise<void> {
    const root = await this.#find(STAGING_DIR);
    if (!root || !isStagingDir(root)) return;
    const cutoff = Date.now() - STALE_MS;
    for await (const doc of this.files.children(this.inst, root._id)) {
      if (isStagingDir(doc) && Date.parse(doc.updated_at) < cutoff) await this.files.destroy(this.inst, doc._id).catch(() => undefined);
    }
  }
}
