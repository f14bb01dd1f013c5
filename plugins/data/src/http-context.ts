import type { FastifyRequest } from 'fastify';
import { instanceOf, type AuthService, type DocumentStore, type InstanceRef } from '@cozy-ts/kernel';
import type { Access } from './access.ts';
import type { AccountCrypto } from './account-crypto.ts';
import { Accounts } from './accounts.ts';
import { BulkDocs } from './bulk-docs.ts';
import { Changes } from './changes.ts';
import { Databases } from './databases.ts';
import { DesignDocs } from './design-docs.ts';
import { Documents } from './documents.ts';
import { Finder } from './find.ts';
import { NotSynchronizing } from './not-synchronizing.ts';
import { References } from './references.ts';

/** What every route file gets: the domain services, built once when the routes are mounted. */
export interface DataServices {
  store: DocumentStore;
  documents: Documents;
  bulk: BulkDocs;
  finder: Finder;
  changes: Changes;
  designDocs: DesignDocs;
  references: References;
  notSynchronizing: NotSynchronizing;
  databases: Databases;
  /** The instance and the caller's rights, for a request. */
  caller(req: FastifyRequest): { inst: InstanceRef; access: Access };
}

/** Access answered by the kernel's AUTH service for one request (it memoises the token check per request). */
function accessFor(auth: AuthService, req: FastifyRequest): Access {
  return {
    allow: async (verb, doctype, doc) => {
      await auth.allow(req, verb, doctype, doc);
    },
    allowWholeType: async (verb, doctype) => {
      await auth.allowWholeType(req, verb, doctype);
    },
    holds: async (verb, doctype, doc) => {
      const { permissions } = await auth.authenticate(req);
      return doc ? permissions.allow(verb, doctype, doc) : permissions.allowWholeType(verb, doctype);
    },
    who: async () => {
      const { kind, subject } = await auth.authenticate(req);
      return { kind, subject };
    },
  };
}

export function dataServices(store: DocumentStore, auth: AuthService, accountCrypto?: AccountCrypto): DataServices {
  return {
    store,
    documents: new Documents(store, new Accounts(accountCrypto)),
    bulk: new BulkDocs(store),
    finder: new Finder(store),
    changes: new Changes(store),
    designDocs: new DesignDocs(store),
    references: new References(store),
    notSynchronizing: new NotSynchronizing(store),
    databases: new Databases(store),
    caller: (req) => ({ inst: instanceOf(req), access: accessFor(auth, req) }),
  };
}

export interface DoctypeParams {
  doctype: string;
}
export interface DocParams extends DoctypeParams {
  docid: string;
}
export interface DesignParams extends DoctypeParams {
  ddoc: string;
}
