import type { BasemapKind } from './basemap.ts';
import { hubStatsSchema, type HubStats } from '../../src/protocol/rest.ts';
import { byId } from './dom.ts';
import type { ConnectionState, RiderSocket } from './rider-socket.ts';

const STATS_EVERY_MS = 2000;
// Longer than the poll period would let polls pile up on a slow hub; shorter
// would blank the counters whenever the hub's machine is merely busy.
const STATS_TIMEOUT_MS = 1900;

/** The bottom bar: connection state, hub-wide counters, and what the map is showing. */
export class StatusBar {
  private readonly connection = byId('status-connection');
  private readonly connectionText = byId('status-connection-text');
  private readonly online = byId('stat-online');
  private readonly fps = byId('stat-fps');
  private readonly sockets = byId('stat-sockets');
  private readonly inView = byId('stat-in-view');
  private readonly basemap = byId('stat-basemap');
  private countdown: ReturnType<typeof setInterval> | undefined;
  private statsFailing = false;
  private statsInFlight = false;

  constructor(private readonly socket: RiderSocket) {
    socket.onState((state) => this.showConnection(state));
    void this.pollStats();
    setInterval(() => void this.pollStats(), STATS_EVERY_MS);
  }

  setBasemap(kind: BasemapKind): void {
    this.basemap.textContent = kind === 'osm' ? 'OpenStreetMap' : 'Offline';
  }

  /** `capped`: the view's list hit its limit, so the map shows the nearest drivers to the centre, not all in view. */
  setInView(count: number, capped: boolean): void {
    this.inView.textContent = capped ? `${count} nearest` : String(count);
  }

  private showConnection(state: ConnectionState): void {
    clearInterval(this.countdown);
    this.connection.dataset.state = state.kind;
    if (state.kind !== 'reconnecting') {
      this.connectionText.textContent = state.kind === 'live' ? 'Live' : 'Connecting…';
      return;
    }
    this.clearStats();
    const tick = () => {
      const seconds = Math.max(0, Math.ceil((state.retryAt - Date.now()) / 1000));
      this.connectionText.textContent = seconds > 0 ? `Reconnecting in ${seconds} s… (${state.reason})` : `Reconnecting… (${state.reason})`;
    };
    tick();
    this.countdown = setInterval(tick, 250);
  }

  private async pollStats(): Promise<void> {
    // While the socket is down the hub is too; asking would only add failed
    // requests to the console during a restart.
    if (!this.socket.live || this.statsInFlight) return;
    this.statsInFlight = true;
    let stats: HubStats;
    try {
      const response = await fetch('/api/stats', { cache: 'no-store', signal: AbortSignal.timeout(STATS_TIMEOUT_MS) });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      stats = hubStatsSchema.parse(await response.json());
    } catch (error) {
      // Once per outage, not every poll. The counters keep their last values:
      // one slow answer is not an outage, and a dropped socket clears them.
      if (!this.statsFailing) console.warn('hub stats unavailable', error);
      this.statsFailing = true;
      return;
    } finally {
      this.statsInFlight = false;
    }
    this.statsFailing = false;
    this.online.textContent = stats.driversOnline.toLocaleString('en');
    this.fps.textContent = stats.framesPerSecond.toLocaleString('en', { maximumFractionDigits: 0 });
    this.sockets.textContent = `${plural(stats.connections.drivers, 'driver')} · ${plural(stats.connections.riders, 'rider')}`;
  }

  private clearStats(): void {
    for (const field of [this.online, this.fps, this.sockets]) field.textContent = '—';
  }
}

function plural(count: number, noun: string): string {
  return `${count.toLocaleString('en')} ${noun}${count === 1 ? '' : 's'}`;
}
