/** A wait that ends when its owner reports everything outstanding settled, or after a timeout, whichever comes first. */
export class DrainSignal {
  private release: (() => void) | undefined;

  wait(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.fire(), timeoutMs);
      this.release = () => {
        clearTimeout(timer);
        this.release = undefined;
        resolve();
      };
    });
  }

  /** Ends the current wait, if any. */
  fire(): void {
    this.release?.();
  }
}
