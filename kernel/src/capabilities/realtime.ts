import type { DocVerb } from '../events/doc-events.ts';
import type { InstanceRef } from '../instances/instance.ts';
import type { Doc } from '../store/types.ts';
import { defineCapability } from './capability.ts';

/** What a realtime event says happened: a store write, or a NOTIFIED document that is never persisted. */
export type RealtimeVerb = DocVerb | 'NOTIFIED';

export interface RealtimeEvent {
  verb: RealtimeVerb;
  doctype: string;
  /** Carries the `_id` subscribers filter on. */
  doc: Doc;
  old?: Doc;
}

/**
 * Pushes events to the websockets of an instance, on every process of a farm. Store writes reach subscribers
 * by themselves (through the doc-event bus); this is for what the store never sees: cozy-stack's
 * `POST /realtime/:doctype/:id` notifications and synthetic doctypes (thumbnails, job progress...).
 * Both resolve once the event is handed to the cluster pub/sub, not once it is delivered.
 */
export interface RealtimeService {
  /** A NOTIFIED event for `doctype`/`id` with `doc` as its document (its `_id` is set to `id`). */
  notify(inst: InstanceRef, doctype: string, id: string, doc: Readonly<Record<string, unknown>>): Promise<void>;
  publish(inst: InstanceRef, event: RealtimeEvent): Promise<void>;
}

export const REALTIME = defineCapability<RealtimeService>('realtime', '1.0.0');
