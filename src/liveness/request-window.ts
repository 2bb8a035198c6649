// The liveness budget held exactly: the send times of the last requests, so that no window of
// 1 000 ms ever holds more than `maxStatsRequestsPerSecond` of them.

/** The most send times a request window keeps (a budget above this is enforced per shorter window). */
const MAX_WINDOW_REQUESTS = 4_096;

/**
 * The send times of the last requests, to hold the budget exactly: never more than `capacity`
 * requests in any `windowMs` (for a whole-number budget, never more than it in any second, however
 * late the timers fire). The token bucket paces; this guarantees.
 */
export class RequestWindow {
	readonly #times: Float64Array;
	readonly #windowMs: number;
	/** The oldest recorded send, the next to be overwritten. */
	#oldest = 0;

	constructor(perSecond: number) {
		const capacity = Math.max(1, Math.min(Math.floor(perSecond), MAX_WINDOW_REQUESTS));
		this.#times = new Float64Array(capacity).fill(Number.NEGATIVE_INFINITY);
		this.#windowMs = (capacity * 1000) / perSecond;
	}

	/** Whether one more request may be sent at `now` (ms). */
	allows(now: number): boolean {
		return now - (this.#times[this.#oldest] as number) >= this.#windowMs;
	}

	record(now: number): void {
		this.#times[this.#oldest] = now;
		this.#oldest = (this.#oldest + 1) % this.#times.length;
	}
}
