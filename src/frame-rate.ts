/** Frames per second over the last few whole seconds, for the status bar and stats. */
export class FrameRate {
  private readonly buckets = new Float64Array(5);
  private currentSecond = Math.floor(Date.now() / 1000);

  count(): void {
    this.roll();
    this.buckets[this.currentSecond % this.buckets.length]! += 1;
  }

  perSecond(): number {
    this.roll();
    let total = 0;
    // Skip the second in progress: it is only partly counted.
    for (let back = 1; back < this.buckets.length; back++) total += this.buckets[(this.currentSecond - back) % this.buckets.length]!;
    return Math.round(total / (this.buckets.length - 1));
  }

  private roll(): void {
    const now = Math.floor(Date.now() / 1000);
    for (let second = this.currentSecond + 1; second <= now && second - this.currentSecond <= this.buckets.length; second++) {
      this.buckets[second % this.buckets.length] = 0;
    }
    this.currentSecond = now;
  }
}
