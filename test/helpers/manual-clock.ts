// Clocks for tests that drive time themselves: a ManualClock (or SyncManualClock) handed to
// createWatchdog(), or vitest's fake timers with a Clock that reads them.
import { afterEach, beforeEach, vi } from 'vitest';
import type { Clock, TimerHandle } from '../../src/clock.js';

interface ManualTimer {
	readonly id: number;
	readonly at: number;
	readonly callback: () => void;
}

/**
 * What both manual clocks share: time that moves only when the test says so, and timers that fire
 * in due order (ties in the order they were set) and may set new ones. The subclasses differ only
 * in how `advance()` walks through them.
 */
abstract class ManualTime implements Clock {
	#now = 0;
	#nextId = 1;
	#created = 0;
	readonly #timers = new Map<number, ManualTimer>();

	now(): number {
		return this.#now;
	}

	setTimeout(callback: () => void, ms: number): TimerHandle {
		if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`ManualClock.setTimeout() got ${ms} ms`);
		const timer = { id: this.#nextId++, at: this.#now + ms, callback };
		this.#timers.set(timer.id, timer);
		this.#created += 1;
		return timer.id;
	}

	clearTimeout(handle: TimerHandle): void {
		this.#timers.delete(handle as number);
	}

	/** Timers set and neither fired nor cleared. */
	pending(): number {
		return this.#timers.size;
	}

	/** Timers set so far. */
	get created(): number {
		return this.#created;
	}

	/** Fires the earliest timer due by `until`, time moved to it; false when none is due. */
	protected fireNext(until: number): boolean {
		let next: ManualTimer | undefined;
		// Map order is the order timers were set, so `<` keeps the first of a tie.
		for (const timer of this.#timers.values()) if (timer.at <= until && (!next || timer.at < next.at)) next = timer;
		if (!next) return false;
		this.#timers.delete(next.id);
		this.#now = next.at;
		next.callback();
		return true;
	}

	protected moveTo(until: number): void {
		this.#now = until;
	}
}

/**
 * A Clock whose time only moves when the test says so. `advance()` fires due timers in order and
 * lets promise jobs settle after each, so async work a timer starts is done before the next one
 * fires.
 */
export class ManualClock extends ManualTime {
	/** Moves time forward by `ms`, firing due timers in order and letting promises settle after each. */
	async advance(ms: number): Promise<void> {
		const until = this.now() + ms;
		while (this.fireNext(until)) await flushPromises();
		this.moveTo(until);
		await flushPromises();
	}
}

/**
 * Like ManualClock, but `advance()` is synchronous: due timers fire one after another within the
 * call, and promise jobs they start run only when the test yields. For exact state-machine tests
 * that decide themselves when jobs run (test/reliability).
 */
export class SyncManualClock extends ManualTime {
	/** Moves time forward by `ms`, firing every timer that falls due on the way. */
	advance(ms: number): void {
		const until = this.now() + ms;
		while (this.fireNext(until));
		this.moveTo(until);
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
