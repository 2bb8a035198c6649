/** An opaque timer handle as returned by `Clock.setTimeout`. */
export type TimerHandle = unknown;

/**
 * Time source and timers used by every watch. Injectable so state-machine tests are exact.
 * `now()` is monotonic milliseconds (not epoch).
 */
export interface Clock {
	now(): number;
	setTimeout(callback: () => void, ms: number): TimerHandle;
	clearTimeout(handle: TimerHandle): void;
}

/**
 * The real clock: `performance.now()` and global timers, each timer `unref()`ed so a watch
 * never keeps the process alive. Globals are read at call time so fake timers apply.
 */
export const systemClock: Clock = {
	now: () => globalThis.performance.now(),
	setTimeout(callback, ms) {
		const handle = globalThis.setTimeout(callback, ms);
		(handle as { unref?: () => void }).unref?.();
		return handle;
	},
	clearTimeout(handle) {
		globalThis.clearTimeout(handle as ReturnType<typeof setTimeout>);
	},
};

/** A single named timer slot: arming replaces the previous timer; `clear()` is idempotent. */
export class TimerSlot {
	#handle: TimerHandle | undefined;
	readonly #clock: Clock;

	constructor(clock: Clock) {
		this.#clock = clock;
	}

	get armed(): boolean {
		return this.#handle !== undefined;
	}

	/** Arms the timer; `Infinity` means "off" and arms nothing. */
	arm(ms: number, callback: () => void): void {
		this.clear();
		if (ms === Number.POSITIVE_INFINITY) return;
		this.#handle = this.#clock.setTimeout(() => {
			this.#handle = undefined;
			callback();
		}, ms);
	}

	clear(): void {
		if (this.#handle === undefined) return;
		this.#clock.clearTimeout(this.#handle);
		this.#handle = undefined;
	}
}
