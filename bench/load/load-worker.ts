import { LatencyHistogram } from '../../clients/lib/latency-histogram.ts';
import { DriverFleet } from './driver-fleet.ts';
import { runHttpLoad } from './http-load.ts';
import type { LoadTask, TaskResult, WorkerMessage } from './load-protocol.ts';
import { RideFleet } from './ride-fleet.ts';
import { RiderFleet } from './rider-fleet.ts';
import { SubscriberFleet } from './subscriber-fleet.ts';

/**
 * A load-generator process. The orchestrator forks several of these so that
 * no process holds more sockets than the machine's per-process file limit
 * allows, and sends them one task at a time over IPC.
 */
const drivers = new DriverFleet();
const riders = new RiderFleet();
const subscribers = new SubscriberFleet();
const rideRiders = new RideFleet();

function send(message: WorkerMessage): void {
  process.send?.(message);
}

async function perform(task: LoadTask): Promise<TaskResult> {
  switch (task.kind) {
    case 'connect-drivers':
      return drivers.connect(task.hub, task.firstId, task.count, task.concurrency, task.token, send);
    case 'disconnect-drivers':
      await drivers.disconnect();
      return emptyResult();
    case 'stream-rate':
      return drivers.streamRate(task, send);
    case 'stream-window':
      return drivers.streamWindow(task, send);
    case 'connect-riders':
      return riders.connect(task.hub, task.count, task.token, send);
    case 'disconnect-riders':
      await riders.disconnect();
      return emptyResult();
    case 'query-rate':
      return riders.queryRate(task, send);
    case 'query-paced':
      return riders.queryPaced(task, send);
    case 'connect-subscribers':
      return subscribers.connect(task, send);
    case 'watch-updates':
      return subscribers.watch(task, send);
    case 'disconnect-subscribers':
      await subscribers.disconnect();
      return emptyResult();
    case 'answer-offers':
      return drivers.answerOffers(task.accept);
    case 'connect-ride-riders':
      return rideRiders.connect(task.hub, task.count, task.token, send);
    case 'disconnect-ride-riders':
      await rideRiders.disconnect();
      return emptyResult();
    case 'ride-rate':
      return rideRiders.rate(task, send);
    case 'http':
      return runHttpLoad(task, send);
  }
}

function emptyResult(): TaskResult {
  return { sent: 0, completed: 0, offered: 0, onTime: 0, measuredMs: 0, latency: new LatencyHistogram().toJSON(), errors: {}, counts: {}, workerCpuMs: 0 };
}

process.on('message', (task: LoadTask) => {
  perform(task).then(
    (result) => send({ type: 'done', result }),
    (error: unknown) => send({ type: 'failed', error: (error as Error).stack ?? String(error) }),
  );
});
process.on('disconnect', () => process.exit(0));
send({ type: 'ready' });
