// What `watchdog.snapshot()` counts: watches by state, closes by reason, restart decisions and the
// two duration summaries. The watchdog feeds it from the events of its watches.
import type { CloseInfo, IceRestartEvent, WatchdogSnapshot, WatchState } from '../types.js';
import { SummaryWindow } from './summary-window.js';

type ActiveState = keyof WatchdogSnapshot['transports'];

export class SnapshotCounters {
	readonly #byState: Record<ActiveState, number> = { connecting: 0, connected: 0, disconnected: 0, restarting: 0 };
	readonly #closes: Partial<Record<CloseInfo['reason'], number>> = {};
	#restartsGranted = 0;
	readonly #restartsDenied: Partial<Record<string, number>> = {};
	readonly #timeToConnect: SummaryWindow;
	readonly #detection: SummaryWindow;

	/** @param now - monotonic milliseconds (the watchdog's clock). */
	constructor(now: () => number) {
		this.#timeToConnect = new SummaryWindow(now);
		this.#detection = new SummaryWindow(now);
	}

	watched(): void {
		this.#byState.connecting += 1;
	}

	stateChanged(from: WatchState, to: WatchState): void {
		if (from in this.#byState) this.#byState[from as ActiveState] -= 1;
		if (to in this.#byState) this.#byState[to as ActiveState] += 1;
	}

	connected(timeToConnectMs: number): void {
		this.#timeToConnect.add(timeToConnectMs);
	}

	restartDecided(event: IceRestartEvent): void {
		if (event.outcome === 'granted') this.#restartsGranted += 1;
		else this.#restartsDenied[event.reason] = (this.#restartsDenied[event.reason] ?? 0) + 1;
	}

	/** A watch closed (a stop is not counted). */
	closed(info: CloseInfo): void {
		this.#closes[info.reason] = (this.#closes[info.reason] ?? 0) + 1;
		if (info.detectionMs !== null) this.#detection.add(info.detectionMs);
	}

	/** Plain data: copies, never the counters themselves. */
	snapshot(liveness: WatchdogSnapshot['liveness'], users: number): Omit<WatchdogSnapshot, 'ports'> {
		return {
			transports: { ...this.#byState },
			closes: { ...this.#closes },
			restarts: { granted: this.#restartsGranted, denied: { ...this.#restartsDenied } },
			timeToConnectMs: this.#timeToConnect.summary(),
			detectionMs: this.#detection.summary(),
			liveness,
			users,
		};
	}
}
