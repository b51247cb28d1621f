/**
 * One status line on stderr while the benchmark runs: rewritten in place
 * on a terminal, printed every few seconds otherwise (CI logs).
 */
export class Progress {
  private phaseLabel = '';
  private phaseStartedAt = performance.now();
  private lastPrintedAt = 0;
  private readonly interactive = process.stderr.isTTY === true;

  constructor(private readonly totalPhases: number) {}

  phase(index: number, label: string): void {
    this.endLine();
    this.phaseLabel = `[${index}/${this.totalPhases}] ${label}`;
    this.phaseStartedAt = performance.now();
    this.lastPrintedAt = 0;
    this.update('');
  }

  update(detail: string): void {
    const seconds = ((performance.now() - this.phaseStartedAt) / 1000).toFixed(0).padStart(3);
    const line = `${this.phaseLabel} ${seconds}s ${detail}`;
    if (this.interactive) {
      process.stderr.write(`\r\x1b[K${line.slice(0, (process.stderr.columns ?? 160) - 1)}`);
    } else if (performance.now() - this.lastPrintedAt >= 5000) {
      process.stderr.write(`${line}\n`);
      this.lastPrintedAt = performance.now();
    }
  }

  note(text: string): void {
    this.endLine();
    process.stderr.write(`${text}\n`);
  }

  endLine(): void {
    if (this.interactive && this.phaseLabel) process.stderr.write('\n');
  }
}
