import { expect, it } from 'vitest';
import { ResumePoints } from '../src/ingest/resume-points.ts';

/** A store whose resumePoints calls are recorded and answered when the test says so. */
function heldStore() {
  const calls: Array<{ ids: number[]; answer(points: Map<number, number>): void; fail(error: Error): void }> = [];
  return {
    calls,
    store: {
      resumePoints: (ids: number[]) => new Promise<Map<number, number>>((resolve, reject) => calls.push({ ids, answer: resolve, fail: reject })),
    },
  };
}

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

it('reads every lookup of one loop turn in one query, and later lookups in as few more as the queries in flight allow', async () => {
  const { calls, store } = heldStore();
  const points = new ResumePoints(store);
  const first = [1, 2, 3].map((id) => points.lookup(id));
  await nextTurn();
  expect(calls.map((call) => call.ids)).toEqual([[1, 2, 3]]);

  const second = [4, 5].map((id) => points.lookup(id));
  await nextTurn();
  // Two in flight at most: what arrives meanwhile waits and shares the next query.
  const third = [6, 7, 8].map((id) => points.lookup(id));
  const unknown = points.lookup(9);
  await nextTurn();
  expect(calls.map((call) => call.ids)).toEqual([
    [1, 2, 3],
    [4, 5],
  ]);

  calls[0]!.answer(
    new Map([
      [1, 10],
      [2, 20],
      [3, 30],
    ]),
  );
  expect(await Promise.all(first)).toEqual([10, 20, 30]);
  await nextTurn();
  expect(calls.map((call) => call.ids)).toEqual([
    [1, 2, 3],
    [4, 5],
    [6, 7, 8, 9],
  ]);
  calls[1]!.answer(
    new Map([
      [4, 40],
      [5, 50],
    ]),
  );
  calls[2]!.answer(
    new Map([
      [6, 60],
      [7, 70],
      [8, 80],
    ]),
  );
  expect(await Promise.all([...second, ...third, unknown])).toEqual([40, 50, 60, 70, 80, null]);
});

it('fails every lookup a failed query carried, reports it once, and keeps serving later lookups', async () => {
  const { calls, store } = heldStore();
  const failures: number[] = [];
  const points = new ResumePoints(store, (_error, lookups) => failures.push(lookups));
  const lost = [1, 2].map((id) => points.lookup(id).catch((error: Error) => error.message));
  await nextTurn();
  calls[0]!.fail(new Error('database down'));
  expect(await Promise.all(lost)).toEqual(['database down', 'database down']);
  expect(failures).toEqual([2]);
  const later = points.lookup(3);
  await nextTurn();
  calls[1]!.answer(new Map([[3, 7]]));
  expect(await later).toBe(7);
});
