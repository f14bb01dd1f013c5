import { createRequire } from 'node:module';
import { posix } from 'node:path';
import type { Readable } from 'node:stream';
import type yazlModule from 'yazl';
import { TRASH_DIR_NAME, isDir, type FileDoc, type FilesService, type InstanceRef, type RegularFileDoc } from '@cozy-ts/kernel';
import { useNativeCrc32 } from './fast-crc32.ts';

// yazl is loaded with the first archive: a server that never zips never pays for it at start-up.
let yazl: typeof yazlModule | undefined;
const loadYazl = () => (yazl ??= createRequire(import.meta.url)('yazl') as typeof yazlModule);

/** One selected entry with its full path (the archive keeps it relative to its parent). */
export interface ArchiveEntry {
  doc: FileDoc;
  path: string;
}

/**
 * Deflated: text and code only, at zlib's fastest level. Everything else is stored as it is: images, audio, video,
 * PDFs and office files are compressed already, and deflate on such bytes runs at a few MiB/s for nothing (a
 * 256 MiB random file zipped at 8 MiB/s deflated here, at disk speed stored). Level 1 keeps most of the gain on
 * text at several times the speed of the default level, which matters on a Pi.
 */
function compression(doc: RegularFileDoc): { compress: boolean; compressionLevel?: number } {
  const textual = doc.class === 'text' || doc.class === 'code' || /^(text\/|application\/(json|xml|javascript|x-sh))|\+xml$|\+json$/.test(doc.mime ?? '');
  return textual ? { compress: true, compressionLevel: 1 } : { compress: false };
}

function inTrash(path: string): boolean {
  return path === `/${TRASH_DIR_NAME}` || path.startsWith(`/${TRASH_DIR_NAME}/`);
}

function mtime(doc: FileDoc): Date {
  const d = new Date(doc.updated_at);
  return Number.isNaN(d.getTime()) ? new Date() : d;
}

/**
 * A zip of the entries, streamed as cozy-stack's Archive.Serve lays it out: everything under `<name>/`, each entry
 * at its path relative to its own parent, directories with all they hold. Contents are opened one at a time, only
 * when the zip reaches them, and flow through with back-pressure, so memory does not grow with file sizes nor with
 * the number of files; ZIP64 is used wherever a size or a count needs it. A failure mid-way (a content gone)
 * destroys the stream: the client sees a broken download, never a zip that silently misses files.
 */
export function zipStream(files: FilesService, inst: InstanceRef, name: string, entries: ArchiveEntry[]): Readable {
  useNativeCrc32();
  const zip = new (loadYazl().ZipFile)();
  // A PassThrough at run time; the typings only say NodeJS.ReadableStream.
  const out = zip.outputStream as unknown as Readable;
  zip.on('error', (err: Error) => out.destroy(err));

  const addFile = (doc: RegularFileDoc, zipPath: string) => {
    zip.addReadStreamLazy(zipPath, { mtime: mtime(doc), size: Number(doc.size), ...compression(doc) }, (cb) => {
      files.read(inst, doc._id).then(
        (content) => cb(null, content.stream),
        (err: Error) => cb(err, undefined as never),
      );
    });
  };

  void (async () => {
    try {
      for (const entry of entries) {
        const base = posix.dirname(entry.path);
        const rel = (p: string) => `${name}/${posix.relative(base, p)}`;
        if (!isDir(entry.doc)) {
          addFile(entry.doc, rel(entry.path));
          continue;
        }
        zip.addEmptyDirectory(rel(entry.path), { mtime: mtime(entry.doc) });
        const skipTrash = !inTrash(entry.path);
        for await (const child of files.walk(inst, entry.doc._id)) {
          if (out.destroyed) return;
          // The root holds the trash: a zip of everything means everything the user still has.
          if (skipTrash && inTrash(child.path)) continue;
          if (isDir(child.doc)) zip.addEmptyDirectory(rel(child.path), { mtime: mtime(child.doc) });
          else addFile(child.doc, rel(child.path));
        }
      }
      zip.end();
    } catch (err) {
      out.destroy(err as Error);
    }
  })();
  return out;
}
