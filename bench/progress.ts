/**
 * Progress on stdout while the bench runs: a line per phase and a counter that rewrites
 * itself on a terminal, or prints at every quarter when stdout is a file or a pipe.
 */
export class Progress {
  private readonly started = Date.now();
  private readonly tty = Boolean(process.stdout.isTTY);
  private open = false;
  private lastQuarter = -1;

  constructor(private readonly phases: number) {}

  elapsed(): string {
    return `${((Date.now() - this.started) / 1000).toFixed(0).padStart(3)} s`;
  }

  phase(index: number, title: string): void {
    this.end();
    this.lastQuarter = -1;
    console.log(`[${this.elapsed()}] phase ${index}/${this.phases}: ${title}`);
  }

  note(text: string): void {
    this.end();
    console.log(`[${this.elapsed()}]   ${text}`);
  }

  count(label: string, done: number, total: number): void {
    if (this.tty) {
      process.stdout.write(`\r[${this.elapsed()}]   ${label}: ${done}/${total}   `);
      this.open = true;
      if (done >= total) this.end();
      return;
    }
    const quarter = total > 0 ? Math.floor((done / total) * 4) : 4;
    if (quarter !== this.lastQuarter) {
      this.lastQuarter = quarter;
      console.log(`[${this.elapsed()}]   ${label}: ${done}/${total}`);
    }
  }

  private end(): void {
    if (this.open) process.stdout.write('\n');
    this.open = false;
  }
}
