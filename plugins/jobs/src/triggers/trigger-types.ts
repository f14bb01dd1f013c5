import { Cron } from 'croner';
import { isValidDoctypeName, type Doc } from '@cozy-ts/kernel';
import { JobsErrors } from '../errors.ts';
import { parseGoDuration } from './durations.ts';
import { parsePeriodic, randomCrontab, type Frequency } from './periodic.ts';

/** An `io.cozy.triggers` document, as cozy-stack stores it. */
export interface TriggerDoc extends Doc {
  type: string;
  worker: string;
  arguments: string;
  debounce?: string;
  options?: Record<string, unknown> | null;
  message?: unknown;
  domain: string;
  cozyMetadata?: { doctypeVersion?: string; metadataVersion?: number; createdAt: string; updatedAt: string };
}

export type DocVerbName = 'CREATED' | 'UPDATED' | 'DELETED';

export interface EventRule {
  doctype: string;
  verbs: DocVerbName[];
  values: string[];
  /** `!=` among the values: fires only when the selected field changed. */
  changed: boolean;
  selector: string;
}

export type Schedule =
  | { kind: 'time'; once: boolean; next(after: number): number | null }
  | { kind: 'event'; rules: EventRule[] }
  | { kind: 'webhook' }
  | { kind: 'client' };

export const TRIGGER_TYPES = ['@cron', '@every', '@at', '@in', '@hourly', '@daily', '@weekly', '@monthly', '@event', '@webhook', '@client'] as const;
const VERBS = new Set<string>(['CREATED', 'UPDATED', 'DELETED']);
const SELECTOR = /^[A-Za-z0-9_.-]{1,128}$/;

function bad(why: string): never {
  throw JobsErrors.badTrigger(why, { source: { pointer: '/data/attributes/arguments' } });
}

function createdAt(t: TriggerDoc): number {
  const ms = Date.parse(t.cozyMetadata?.createdAt ?? '');
  return Number.isFinite(ms) ? ms : Date.now();
}

/** cozy-stack's cron (robfig, six fields, seconds first) through croner, with `?` read as `*` as robfig does. */
function cronSchedule(expr: string, label: string): Schedule {
  const fields = expr.trim().split(/\s+/);
  if (fields.length !== 6) bad(`${label} needs six fields (seconds first), got ${fields.length}`);
  const pattern = fields.map((f) => (f === '?' ? '*' : f)).join(' ');
  let cron: Cron;
  try {
    cron = new Cron(pattern, { timezone: 'UTC', paused: true, legacyMode: true });
  } catch (err) {
    bad(`${label}: ${(err as Error).message}`);
  }
  if (!cron.nextRun(new Date())) bad(`${label} never fires (impossible date)`);
  return {
    kind: 'time',
    once: false,
    next(after) {
      return cron.nextRun(new Date(after))?.getTime() ?? null;
    },
  };
}

function eventRules(args: string): EventRule[] {
  const words = args.trim().split(/\s+/).filter(Boolean);
  if (words.length === 0) bad('@event needs at least one doctype');
  if (words.length > 20) bad('@event accepts at most 20 rules');
  return words.map((word) => {
    const [doctype, verbs = '', values = '', selector = '', ...rest] = word.split(':');
    if (rest.length > 0) bad(`@event rule ${JSON.stringify(word)} has too many parts`);
    if (!isValidDoctypeName(doctype, false)) bad(`@event: invalid doctype ${JSON.stringify(doctype)}`);
    const verbList = verbs ? verbs.split(',') : [];
    for (const v of verbList) if (!VERBS.has(v)) bad(`@event: invalid verb ${JSON.stringify(v)} (CREATED, UPDATED or DELETED)`);
    const valueList = values ? values.split(',') : [];
    if (selector && !SELECTOR.test(selector)) bad(`@event: invalid selector ${JSON.stringify(selector)}`);
    const changed = valueList.includes('!=');
    if (changed && !selector) bad('@event: != needs a selector');
    return { doctype, verbs: verbList as DocVerbName[], values: valueList.filter((v) => v !== '!='), changed, selector: selector || '_id' };
  });
}

/**
 * What a trigger's type and arguments mean; throws `badTrigger` (400) for anything cozy-stack would refuse and
 * for schedules that never fire or fire faster than `minIntervalMs`.
 */
export function scheduleOf(t: TriggerDoc, minIntervalMs: number): Schedule {
  const args = typeof t.arguments === 'string' ? t.arguments : '';
  if (args.length > 1_000) bad('arguments are too long');
  switch (t.type) {
    case '@cron':
      return cronSchedule(args, '@cron');
    case '@hourly':
    case '@daily':
    case '@weekly':
    case '@monthly': {
      let crontab: string;
      try {
        crontab = randomCrontab(parsePeriodic(t.type.slice(1) as Frequency, args), `${t.domain}/${t.worker}/${t._id}`);
      } catch (err) {
        bad(`${t.type}: ${(err as Error).message}`);
      }
      return cronSchedule(crontab, t.type);
    }
    case '@every': {
      const every = parseGoDuration(args.trim());
      if (every === null) bad(`@every: invalid duration ${JSON.stringify(args.slice(0, 64))}`);
      if (every < minIntervalMs) bad(`@every: the interval must be at least ${minIntervalMs} ms`);
      const anchor = createdAt(t);
      return { kind: 'time', once: false, next: (after) => anchor + (Math.floor((after - anchor) / every) + 1) * every };
    }
    case '@at': {
      const at = Date.parse(args.trim());
      if (!/^\d{4}-\d{2}-\d{2}T/.test(args.trim()) || !Number.isFinite(at)) bad(`@at: invalid ISO-8601 date ${JSON.stringify(args.slice(0, 64))}`);
      return { kind: 'time', once: true, next: () => at };
    }
    case '@in': {
      const d = parseGoDuration(args.trim());
      if (d === null) bad(`@in: invalid duration ${JSON.stringify(args.slice(0, 64))}`);
      const at = createdAt(t) + d;
      return { kind: 'time', once: true, next: () => at };
    }
    case '@event':
      return { kind: 'event', rules: eventRules(args) };
    case '@webhook':
      return { kind: 'webhook' };
    case '@client':
      if (t.worker !== 'client') bad('@client triggers are for the client worker');
      return { kind: 'client' };
    default:
      throw JobsErrors.badTrigger(`Unknown trigger type ${JSON.stringify(String(t.type).slice(0, 32))}`, { source: { pointer: '/data/attributes/type' } });
  }
}

/** Checks a debounce value; returns it in ms (0 when absent). */
export function debounceMs(t: TriggerDoc, minIntervalMs: number): number {
  if (t.debounce === undefined || t.debounce === null || t.debounce === '') return 0;
  const ms = typeof t.debounce === 'string' ? parseGoDuration(t.debounce) : null;
  if (ms === null) throw JobsErrors.badTrigger(`Invalid debounce ${JSON.stringify(String(t.debounce).slice(0, 64))}`, { source: { pointer: '/data/attributes/debounce' } });
  if (ms < minIntervalMs) throw JobsErrors.badTrigger(`The debounce must be at least ${minIntervalMs} ms`, { source: { pointer: '/data/attributes/debounce' } });
  return ms;
}
