import type { LatLng } from '../../src/domain/geo.ts';
import type { ServerMessage } from '../../src/protocol/messages.ts';
import type { TestHub } from './hub.ts';
import { connectSteadily } from './steady-connect.ts';
import type { TestClient } from './ws-client.ts';

type Of<T extends ServerMessage['t']> = Extract<ServerMessage, { t: T }>;

/** A message of type `t` (about `rideId`, when given). */
export function isMessage<T extends ServerMessage['t']>(t: T, rideId?: string): (message: ServerMessage) => message is Of<T> {
  return (message): message is Of<T> => message.t === t && (rideId === undefined || (message as { rideId?: string }).rideId === rideId);
}

/** What a driver and a rider in a ride test share: one socket that is dropped and opened again. */
abstract class RideParty {
  constructor(
    public client: TestClient,
    protected readonly testHub: TestHub,
  ) {}

  /** The socket path this party connects on, its identity included. */
  protected abstract readonly socketPath: string;

  send(message: object): void {
    this.client.send(message);
  }

  waitFor<T extends ServerMessage['t']>(t: T, rideId?: string, timeoutMs?: number): Promise<Of<T>> {
    return this.client.waitFor<Of<T>>(isMessage(t, rideId), timeoutMs);
  }

  count(t: ServerMessage['t'], rideId?: string): number {
    const matches = isMessage(t, rideId);
    return this.client.received.filter((entry) => matches(entry.message)).length;
  }

  /** Drops the socket and connects again, as an app coming back from a tunnel does. */
  async reconnect(): Promise<void> {
    this.client.close();
    await this.client.waitForClose();
    this.client = await connectSteadily(this.testHub.wsUrl(this.socketPath));
  }

  close(): void {
    this.client.close();
  }
}

/** A connected driver that is online at a position, committed and in the geo index. */
export class TestDriver extends RideParty {
  private seq = 0;

  constructor(
    readonly id: number,
    client: TestClient,
    testHub: TestHub,
  ) {
    super(client, testHub);
  }

  protected get socketPath(): string {
    return `/ws/driver?id=${this.id}`;
  }

  /** Sends a position and waits until it is committed (acked). */
  async moveTo(place: LatLng): Promise<void> {
    const seq = ++this.seq;
    this.client.send({ t: 'loc', seq, lat: place.lat, lng: place.lng });
    await this.client.waitFor((message) => message.t === 'ack' && message.seq >= seq);
  }

  /** Reconnects and resumes numbering after what the hub says it committed. */
  override async reconnect(): Promise<void> {
    await super.reconnect();
    const hello = await this.client.waitFor((message) => message.t === 'hello');
    if (hello.t === 'hello') this.seq = Math.max(this.seq, hello.lastSeq);
  }
}

export class TestRider extends RideParty {
  constructor(
    readonly id: string,
    client: TestClient,
    testHub: TestHub,
  ) {
    super(client, testHub);
  }

  protected get socketPath(): string {
    return `/ws/rider?id=${encodeURIComponent(this.id)}`;
  }

  static async connect(testHub: TestHub, riderId: string): Promise<TestRider> {
    return new TestRider(riderId, await connectSteadily(testHub.wsUrl(`/ws/rider?id=${encodeURIComponent(riderId)}`)), testHub);
  }

  /** Requests a ride and resolves with its id once `ride.requested` arrives. */
  async request(pickup: LatLng, extra: object = {}): Promise<string> {
    const id = `req-${Math.random().toString(36).slice(2)}`;
    this.client.send({ t: 'ride.request', id, pickup, ...extra });
    const reply = await this.client.waitFor((message) => (message.t === 'ride.requested' || message.t === 'error') && message.id === id);
    if (reply.t !== 'ride.requested') throw new Error(`ride.request refused: ${JSON.stringify(reply)}`);
    return reply.rideId;
  }
}

/**
 * Creates one driver per place, connects each, and makes it online there:
 * a committed position, in the geo index and the profile cache, so dispatch
 * can offer it rides.
 */
export async function placeDrivers(testHub: TestHub, places: LatLng[]): Promise<TestDriver[]> {
  const ids = await testHub.hub.store.insertDrivers(
    places.map((place, index) => ({
      name: `Test Driver ${index}`,
      phone: `+1555${String(index).padStart(6, '0')}`,
      vehicleType: 'economy' as const,
      rating: 4.5,
      totalRides: 0,
      status: 'offline' as const,
      lat: place.lat,
      lng: place.lng,
    })),
  );
  return Promise.all(
    ids.map(async (id, index) => {
      const client = await connectSteadily(testHub.wsUrl(`/ws/driver?id=${id}`));
      await client.waitFor((message) => message.t === 'hello');
      const driver = new TestDriver(id, client, testHub);
      client.send({ t: 'status', status: 'online' });
      await driver.moveTo(places[index]!);
      return driver;
    }),
  );
}
