/**
 * A synchronous, typed event channel: a producer emits, any number of
 * consumers subscribe. It lets a producer that exists first (ingest) feed
 * consumers created later (the transport, subscriptions, a cross-process bus)
 * without knowing them and without forward-declared closures. Listeners run
 * in subscription order on the emitter's call stack, so they must be quick and
 * must not throw.
 *
 * At most three arguments, passed positionally: emitting allocates nothing,
 * which matters on the ack path (one emit per driver per batch).
 */
export class Signal<Args extends [] | [unknown] | [unknown, unknown] | [unknown, unknown, unknown]> {
  private listeners: Array<(a?: unknown, b?: unknown, c?: unknown) => void> = [];

  /** Adds a listener; the returned function removes it. */
  subscribe(listener: (...args: Args) => void): () => void {
    const stored = listener as (a?: unknown, b?: unknown, c?: unknown) => void;
    // The array is replaced, never mutated: a listener that unsubscribes mid-emit does not skip its neighbour.
    this.listeners = [...this.listeners, stored];
    return () => {
      this.listeners = this.listeners.filter((candidate) => candidate !== stored);
    };
  }

  /** Calls every listener with the arguments; a property, so it can be handed on unbound. */
  readonly emit: (...args: Args) => void = (a?: unknown, b?: unknown, c?: unknown) => {
    const listeners = this.listeners;
    for (let i = 0; i < listeners.length; i++) listeners[i]!(a, b, c);
  };
}
