// Clocks for unit tests that drive time themselves: a ManualClock handed to createWatchdog(), or
// vitest's fake timers with a Clock that reads them.
import { afterEach, beforeEach, vi } from 'vitest';
import type { Clock } from '../../src/clock.js';

interface ManualTimer {
	readonly at: number;
	readonly callback: () => void;
}

/**
 * A Clock whose time only moves when the test says so. `advance()` fires due timers in order (ties
 * in the order they were set) and lets promise jobs settle after each, so async work a timer
 * starts is done before the next one fires.
 */
export class ManualClock implements Clock {
	#now = 0;
	#next = 1;
	readonly #timers = new Map<number, ManualTimer>();

	now(): number {
		return this.#now;
	}

	setTimeout(callback: () => void, ms: number): number {
		const id = this.#next++;
		this.#timers.set(id, { at: this.#now + ms, callback });
		return id;
	}

	clearTimeout(handle: unknown): void {
		this.#timers.delete(handle as number);
	}

	/** Timers set and neither fired nor cleared. */
	pending(): number {
		return this.#timers.size;
	}

	/** Moves time forward by `ms`, firing due timers in order and letting promises settle after each. */
	async advance(ms: number): Promise<void> {
		const target = this.#now + ms;
		for (;;) {
			let due: [number, ManualTimer] | undefined;
			for (const entry of this.#timers) if (entry[1].at <= target && (!due || entry[1].at < due[1].at)) due = entry;
			if (!due) break;
			this.#timers.delete(due[0]);
			this.#now = due[1].at;
			due[1].callback();
			await flushPromises();
		}
		this.#now = target;
		await flushPromises();
	}
}

/** Lets a few rounds of already-queued promise jobs run. */
export async function flushPromises(): Promise<void> {
	for (let i = 0; i < 10; i++) await Promise.resolve();
}

/** A Clock that reads vitest's fake timers (see `useFakeTimers()`), so both agree to the millisecond. */
export const fakeTimersClock: Clock = {
	now: () => Date.now(),
	setTimeout: (callback, ms) => setTimeout(callback, ms),
	clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** Fake timers for every test of the file (on in `beforeEach`, off in `afterEach`). */
export function useFakeTimers(config?: Parameters<typeof vi.useFakeTimers>[0]): void {
	beforeEach(() => {
		vi.useFakeTimers(config);
	});
	afterEach(() => {
		vi.useRealTimers();
	});
}
