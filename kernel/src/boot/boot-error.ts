export interface BootProblem {
  /** What the problem is about: a plugin package name, a config path, or 'config'. */
  subject: string;
  message: string;
}

/** The one error a failed boot throws: it names every problem found, not just the first. */
export class BootError extends Error {
  readonly problems: BootProblem[];

  constructor(problems: BootProblem[]) {
    super(
      `Cannot start: ${problems.length} problem${problems.length === 1 ? '' : 's'} found\n` +
        problems.map((p) => `  - ${p.subject}: ${p.message}`).join('\n'),
    );
    this.name = 'BootError';
    this.problems = problems;
  }
}
