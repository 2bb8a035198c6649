// Time and timers: the injectable clock, the one timer style (`TimerSlot` for a plain timer,
// `Timeouts` for a promise with a deadline, on p-timeout) and the limit every timer obeys.
import pTimeout from 'p-timeout';

/** The largest delay a Node timer accepts (2^31 - 1 ms); a longer one fires at once. */
export const MAX_TIMER_MS = 2_147_483_647;

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

/** A promise with a deadline that can be called off: `clear()` disarms its timer. */
export type Deadline<T> = Promise<T> & { clear(): void };

/**
 * A thenable that never settles and keeps nothing: awaiting it (p-timeout does) leaves no reaction
 * behind, so a deadline on it costs only p-timeout's own promise and timer.
 */
const NEVER: PromiseLike<never> = Object.freeze({
	// biome-ignore lint/suspicious/noThenProperty: a thenable on purpose, see above
	then(): PromiseLike<never> {
		return NEVER;
	},
});

/**
 * p-timeout on a clock, one per clock owner (a watchdog, a Redis store): its timers are the
 * clock's, so fake clocks drive it and real ones are `unref()`ed.
 */
export class Timeouts {
	readonly #timers: { setTimeout: typeof setTimeout; clearTimeout: typeof clearTimeout };

	constructor(clock: Clock) {
		this.#timers = {
			setTimeout: ((callback: () => void, ms: number) => clock.setTimeout(callback, ms)) as typeof setTimeout,
			clearTimeout: ((handle: TimerHandle) => clock.clearTimeout(handle)) as typeof clearTimeout,
		};
	}

	/** Calls `onTimeout` after `ms` unless `clear()`ed first. */
	after(ms: number, onTimeout: () => void): Deadline<void> {
		return pTimeout(NEVER, { milliseconds: ms, fallback: onTimeout, customTimers: this.#timers });
	}

	/** `promise`, or `fallback()`'s value when it does not settle within `ms`. */
	race<T, F>(promise: PromiseLike<T>, ms: number, fallback: () => F): Deadline<T | F> {
		return pTimeout(promise, { milliseconds: ms, fallback, customTimers: this.#timers });
	}

	/** `promise`, or a rejection with `timeoutError()` when it does not settle within `ms`. */
	limit<T>(promise: PromiseLike<T>, ms: number, timeoutError: () => Error): Deadline<T> {
		const fallback = (): never => {
			throw timeoutError();
		};
		return pTimeout(promise, { milliseconds: ms, fallback, customTimers: this.#timers });
	}
}
