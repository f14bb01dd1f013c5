import type { DocumentStore, InstanceRef, RequestAuth } from '@cozy-ts/kernel';
import { NotificationErrors } from './errors.ts';

/** A category as an app manifest or an OAuth client declares it (cozy-stack's notification.Properties). */
export interface CategoryProperties {
  description?: string;
  collapsible?: boolean;
  multiple?: boolean;
  stateful?: boolean;
  default_priority?: string;
  templates?: Record<string, string>;
}

export interface Sender {
  originator: 'app' | 'konnector' | 'oauth';
  slug: string;
  properties: CategoryProperties;
}

type Declared = Record<string, CategoryProperties> | undefined;

function declared(doc: Record<string, unknown> | null): Declared {
  const n = doc?.notifications;
  return n && typeof n === 'object' && !Array.isArray(n) ? (n as Record<string, CategoryProperties>) : undefined;
}

async function manifest(store: DocumentStore, inst: InstanceRef, doctype: 'io.cozy.apps' | 'io.cozy.konnectors', slug: string) {
  try {
    return await store.get(inst, doctype, `${doctype}/${slug}`);
  } catch (err) {
    if ((err as { status?: number }).status === 404) throw NotificationErrors.appNotFound(`${doctype === 'io.cozy.apps' ? 'Application' : 'Konnector'} ${slug} not found`);
    throw err;
  }
}

function pick(categories: Declared, category: string): CategoryProperties {
  if (!categories) throw NotificationErrors.noCategory();
  const p = Object.hasOwn(categories, category) ? categories[category] : undefined;
  if (!p || typeof p !== 'object') throw NotificationErrors.categoryNotFound(`The category ${JSON.stringify(category.slice(0, 64))} is not declared`);
  return p;
}

/**
 * Who sends and what the category allows, as cozy-stack's center.Push: a web app or konnector by its manifest
 * (`io.cozy.apps/<slug>`, `io.cozy.konnectors/<slug>`), an OAuth client by the manifest of the app it is linked
 * to (`software_id: registry://<slug>`) or else by the `notifications` it declared at registration.
 */
export async function senderOf(store: DocumentStore, inst: InstanceRef, auth: RequestAuth, category: string): Promise<Sender> {
  switch (auth.kind) {
    case 'app': {
      const doc = await manifest(store, inst, 'io.cozy.apps', auth.subject);
      return { originator: 'app', slug: auth.subject, properties: pick(declared(doc), category) };
    }
    case 'konnector': {
      const doc = await manifest(store, inst, 'io.cozy.konnectors', auth.subject);
      return { originator: 'konnector', slug: auth.subject, properties: pick(declared(doc), category) };
    }
    case 'oauth': {
      const client = auth.client ?? null;
      const softwareId = typeof client?.software_id === 'string' ? client.software_id : '';
      if (softwareId.startsWith('registry://')) {
        const slug = softwareId.slice('registry://'.length);
        const doc = await manifest(store, inst, 'io.cozy.apps', slug);
        return { originator: 'oauth', slug, properties: pick(declared(doc), category) };
      }
      return { originator: 'oauth', slug: '', properties: pick(declared(client), category) };
    }
    default:
      throw NotificationErrors.unauthorized();
  }
}
