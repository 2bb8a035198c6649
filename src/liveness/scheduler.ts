// PLACEHOLDER — the stats-based liveness scheduler (issue 5) replaces this file.
import type { Clock } from '../clock.js';
import type { WatchHandleInternal } from '../watch/host.js';
import type { WatchdogPolicy } from '../types.js';

export interface LivenessStats {
	readonly tracked: number;
	readonly requestsPerSecond: number;
	readonly pollIntervalMs: number;
	readonly detectionBoundMs: number;
}

/** One shared scheduler per watchdog that polls getStats() of connected transports. */
export class LivenessScheduler {
	readonly #tracked = new Set<WatchHandleInternal>();
	readonly #policy: WatchdogPolicy<never>;

	constructor(policy: WatchdogPolicy<never>, _clock: Clock) {
		this.#policy = policy;
	}

	track(watch: WatchHandleInternal): void {
		this.#tracked.add(watch);
	}

	untrack(watch: WatchHandleInternal): void {
		this.#tracked.delete(watch);
	}

	stats(): LivenessStats {
		return {
			tracked: this.#tracked.size,
			requestsPerSecond: 0,
			pollIntervalMs: this.#policy.liveness.pollIntervalMs,
			detectionBoundMs: this.#policy.inactivityTimeoutMs,
		};
	}

	stop(): void {
		this.#tracked.clear();
	}
}
