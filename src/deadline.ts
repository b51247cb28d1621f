import { HubError } from './protocol/errors.ts';

/** A call to a store that did not answer in time; the store counts as unavailable. */
export class DeadlineExceededError extends HubError {
  constructor(what: string, ms: number) {
    super('unavailable', `${what} did not answer within ${ms} ms`);
    this.name = 'DeadlineExceededError';
  }
}

/**
 * Settles with `work`, or rejects once `ms` have passed. The work itself goes
 * on (a socket write cannot be taken back); its late outcome is ignored.
 */
export function withDeadline<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new DeadlineExceededError(what, ms)), ms);
  });
  return Promise.race([work, expired]).finally(() => clearTimeout(timer));
}
