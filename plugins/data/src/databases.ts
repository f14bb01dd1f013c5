import { isReadableDoctype, StoreErrors, type DatabaseInfo, type DocumentStore, type InstanceRef } from '@cozy-ts/kernel';
import type { Access } from './access.ts';
import { DataErrors } from './data-errors.ts';
import { assertReadable, assertWritable } from './doctype-access.ts';

/** A permission on this pseudo-doctype lets an app list the instance's doctypes (cozy's consts.Doctypes). */
export const DOCTYPES_DOCTYPE = 'io.cozy.doctypes';

/**
 * The doctype a database holds, from its name: cozy-stack's unescapeCouchdbName. Names replace `.` and `:` with
 * `-`, so `-` is read back as `.`; that is exact because a valid doctype (`[a-z0-9._]`) never contains `-` or `:`.
 */
function doctypeOf(dbName: string, prefix: string): string | undefined {
  if (!dbName.startsWith(prefix)) return undefined;
  const rest = dbName.slice(prefix.length);
  return rest === '' || rest.includes('/') ? undefined : rest.replace(/-/g, '.');
}

/** Database-level routes: GET /data/_all_doctypes, and GET / PUT / DELETE /data/:doctype/. */
export class Databases {
  constructor(private readonly store: DocumentStore) {}

  /** The readable doctypes that have a database on the instance. */
  async allDoctypes(inst: InstanceRef, access: Access): Promise<string[]> {
    await access.allowWholeType('GET', DOCTYPES_DOCTYPE);
    const prefix = this.store.db(inst, '');
    const names = await this.store.adapter.listDatabases(prefix);
    return names.map((name) => doctypeOf(name, prefix)).filter((d): d is string => d !== undefined && isReadableDoctype(d));
  }

  async info(inst: InstanceRef, access: Access, doctype: string): Promise<DatabaseInfo> {
    await access.allowWholeType('GET', doctype);
    assertReadable(doctype);
    return this.store.databaseInfo(inst, doctype);
  }

  /** PUT /data/:doctype/: 201, or CouchDB's 412 when it exists. */
  async create(inst: InstanceRef, access: Access, doctype: string): Promise<{ ok: true }> {
    await access.allowWholeType('POST', doctype);
    assertWritable(doctype);
    if (await this.store.databaseExists(inst, doctype)) throw DataErrors.fileExists();
    await this.store.createDatabase(inst, doctype);
    return { ok: true };
  }

  /** DELETE /data/:doctype/: drops every document of the doctype at once, so it needs DELETE on all of them. */
  async destroy(inst: InstanceRef, access: Access, doctype: string): Promise<{ ok: true; deleted: true }> {
    assertWritable(doctype);
    await access.allowWholeType('DELETE', doctype);
    const db = this.store.db(inst, doctype);
    if (!(await this.store.adapter.databaseExists(db))) throw StoreErrors.dbNotFound(db);
    await this.store.adapter.destroyDatabase(db);
    return { ok: true, deleted: true };
  }
}
