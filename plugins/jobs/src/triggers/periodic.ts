import { createHash } from 'node:crypto';

/** cozy-stack's @hourly / @daily / @weekly / @monthly constraints (model/job/periodic_parser.go). */
export type Frequency = 'hourly' | 'daily' | 'weekly' | 'monthly';

interface PeriodicSpec {
  frequency: Frequency;
  daysOfMonth: number[];
  daysOfWeek: number[];
  afterHour: number;
  beforeHour: number;
}

const DAYS: Record<string, number> = {
  sun: 0, sunday: 0, mon: 1, monday: 1, tue: 2, tuesday: 2, wed: 3, wednesday: 3,
  thu: 4, thursday: 4, fri: 5, friday: 5, sat: 6, saturday: 6,
};

function fail(why: string): never {
  throw new Error(why);
}

function parseHour(text: string | undefined): number {
  const m = /^(\d{1,2})(am|pm)$/.exec(text ?? '');
  if (!m) fail(`invalid hour ${JSON.stringify(text ?? '')}`);
  const h = Number(m[1]);
  if (h <= 0 || h > 12) fail('invalid hour');
  if (m[2] === 'am') return h === 12 ? 0 : h;
  return h === 12 ? 12 : h + 12;
}

function parseDayOfMonth(text: string): number {
  if (!/^\d{1,2}$/.test(text)) fail(`invalid day ${JSON.stringify(text)}`);
  const d = Number(text);
  if (d <= 0 || d > 31) fail('invalid day');
  return d;
}

function parseDayOfWeek(text: string): number {
  const d = DAYS[text];
  if (d === undefined) fail(`cannot parse ${JSON.stringify(text)} as a day`);
  return d;
}

function daysOfMonth(field: string): number[] {
  const days: number[] = [];
  for (const part of field.split(',')) {
    if (part.includes('-')) {
      const [a, b] = part.split('-', 2);
      const from = parseDayOfMonth(a);
      const to = parseDayOfMonth(b);
      if (from >= to) fail('invalid range');
      for (let i = from; i <= to; i++) days.push(i);
    } else days.push(parseDayOfMonth(part));
  }
  return days;
}

function daysOfWeek(field: string): number[] {
  const days: number[] = [];
  for (const part of field.split(',')) {
    if (part === 'weekday') days.push(1, 2, 3, 4, 5);
    else if (part === 'weekend') days.push(0, 6);
    else if (part.includes('-')) {
      const [a, b] = part.split('-', 2);
      const from = parseDayOfWeek(a);
      let to = parseDayOfWeek(b);
      if (from === to) fail('invalid range');
      if (from > to) to += 7;
      for (let i = from; i <= to; i++) days.push(i % 7);
    } else days.push(parseDayOfWeek(part));
  }
  return days;
}

export function parsePeriodic(frequency: Frequency, args: string): PeriodicSpec {
  const spec: PeriodicSpec = {
    frequency,
    daysOfMonth: Array.from({ length: 28 }, (_, i) => i + 1),
    daysOfWeek: [0, 1, 2, 3, 4, 5, 6],
    afterHour: 0,
    beforeHour: 24,
  };
  const fields = args.trim().split(/\s+/).filter(Boolean);
  while (fields.length > 0) {
    const word = fields[0];
    if (word === 'on') {
      if (fields.length === 1) fail("expecting a day after 'on' keyword");
      if (fields[1] === 'the') {
        if (frequency !== 'monthly') fail('day of month is only available for monthly');
        if (fields.length === 2) fail("expecting a day after 'on the' keywords");
        spec.daysOfMonth = daysOfMonth(fields[2]);
        fields.splice(0, 3);
      } else {
        if (frequency !== 'weekly') fail('day of week is only available for weekly');
        spec.daysOfWeek = daysOfWeek(fields[1]);
        fields.splice(0, 2);
      }
    } else if (word === 'before' || word === 'and') {
      const h = parseHour(fields[1]);
      spec.beforeHour = h === 0 ? 24 : h;
      fields.splice(0, 2);
    } else if (word === 'after' || word === 'between') {
      spec.afterHour = parseHour(fields[1]);
      fields.splice(0, 2);
    } else fail(`invalid field ${JSON.stringify(word)}`);
  }
  if (spec.afterHour >= spec.beforeHour) fail('invalid hours range');
  return spec;
}

/**
 * A six-field crontab at a random slot within the constraints, drawn from a seed, so that every process computes
 * the same slot for a trigger and triggers of many instances spread over the allowed range (cozy-stack's
 * ToRandomCrontab; the random source differs, the spread is the same).
 */
export function randomCrontab(spec: PeriodicSpec, seed: string): string {
  const bytes = createHash('sha256').update(seed).digest();
  let i = 0;
  const pick = (n: number) => bytes.readUInt32BE((i++ % 7) * 4) % n;
  const second = pick(60);
  const minute = pick(60);
  const hour = spec.afterHour + pick(spec.beforeHour - spec.afterHour);
  switch (spec.frequency) {
    case 'monthly':
      return `${second} ${minute} ${hour} ${spec.daysOfMonth[pick(spec.daysOfMonth.length)]} * *`;
    case 'weekly':
      return `${second} ${minute} ${hour} * * ${spec.daysOfWeek[pick(spec.daysOfWeek.length)]}`;
    case 'hourly':
      return `${second} ${minute} * * * *`;
    default:
      return `${second} ${minute} ${hour} * * *`;
  }
}
