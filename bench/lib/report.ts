/**
 * Small helpers shared by the benchmarks: percentiles, a plain-text table, PASS/MISS marks and the final JSON line.
 * Benchmarks never fail the process on a slow machine: a missed target is printed, not thrown.
 */
import { rm } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';

export function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i] as number;
}

export interface Summary {
  n: number;
  min: number;
  p50: number;
  p99: number;
  max: number;
  mean: number;
}

export function summarize(values: number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b);
  const sum = sorted.reduce((s, v) => s + v, 0);
  return {
    n: sorted.length,
    min: sorted[0] ?? Number.NaN,
    p50: quantile(sorted, 0.5),
    p99: quantile(sorted, 0.99),
    max: sorted[sorted.length - 1] ?? Number.NaN,
    mean: sum / Math.max(1, sorted.length),
  };
}

/** Median the usual way (mean of the two middle values for an even count). */
export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const mid = s.length >> 1;
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

export const MiB = 1024 * 1024;

export function fmt(value: number, digits = 2): string {
  if (!Number.isFinite(value)) return String(value);
  return value.toFixed(digits);
}

/** PASS when `value` is below `limit` (every target here is an upper bound). */
export function mark(value: number, limit: number): 'PASS' | 'MISS' {
  return value < limit ? 'PASS' : 'MISS';
}

export function table(headers: string[], rows: Array<Array<string | number>>): string {
  const cells = [headers, ...rows.map((r) => r.map(String))];
  const widths = headers.map((_, c) => Math.max(...cells.map((r) => (r[c] ?? '').length)));
  const line = (r: string[]) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c] as number) : cell.padStart(widths[c] as number))).join('  ');
  const out = [line(cells[0] as string[]), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)];
  return out.join('\n');
}

export function machine(): Record<string, unknown> {
  return {
    node: process.version,
    cpus: availableParallelism(),
    cpu: cpus()[0]?.model,
    memMiB: Math.round(totalmem() / MiB),
    loadavg: loadavg().map((l) => Number(l.toFixed(2))),
    date: new Date().toISOString(),
  };
}

/** Prints the one-line JSON record a script ends with (prefix makes it easy to grep out of a log). */
export function printJson(name: string, data: Record<string, unknown>): void {
  process.stdout.write(`BENCH_JSON ${JSON.stringify({ bench: name, machine: machine(), ...data })}\n`);
}

/** Things to undo however the script ends: temp dirs, child processes, open kernels. Run once, in reverse order. */
export class Cleanup {
  readonly #steps: Array<() => Promise<unknown> | unknown> = [];
  #ran?: Promise<void>;

  constructor() {
    const onSignal = (signal: NodeJS.Signals) => {
      process.stderr.write(`\n${signal}: cleaning up\n`);
      void this.run().finally(() => process.exit(130));
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  }

  add(step: () => Promise<unknown> | unknown): void {
    this.#steps.push(step);
  }

  dir(path: string): void {
    this.add(() => rm(path, { recursive: true, force: true }));
  }

  run(): Promise<void> {
    this.#ran ??= (async () => {
      for (const step of [...this.#steps].reverse()) {
        try {
          await step();
        } catch (err) {
          process.stderr.write(`cleanup step failed: ${(err as Error).message}\n`);
        }
      }
    })();
    return this.#ran;
  }
}
