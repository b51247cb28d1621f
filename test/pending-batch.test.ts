import { expect, it } from 'vitest';
import { PendingBatch } from '../src/ingest/pending-batch.ts';

it('splits off the oldest frames with every status, and leaves the rest queued under the same first-arrival time', () => {
  const queue = new PendingBatch();
  for (let i = 1; i <= 5; i++) queue.addLocation(100 + i, i, 40 + i, -73 - i, 1000 + i, 2000 + i);
  queue.addStatus(7, 'offline', 3000);
  const head = queue.takeHead(3);

  expect(head.toLocationBatch()).toEqual({
    driverIds: [101, 102, 103],
    seqs: [1, 2, 3],
    lats: [41, 42, 43],
    lngs: [-74, -75, -76],
    recordedAtMs: [1001, 1002, 1003],
    receivedAtMs: [2001, 2002, 2003],
    statusDriverIds: [7],
    statuses: ['offline'],
  });
  expect(head.firstAtMs).toBe(2001);
  expect(queue.toLocationBatch()).toMatchObject({ driverIds: [104, 105], seqs: [4, 5], receivedAtMs: [2004, 2005], statusDriverIds: [] });
  expect(queue.firstAtMs).toBe(2001);
  expect(queue.size).toBe(2);
});
