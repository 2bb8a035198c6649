// Watchdogs on vitest's fake timers for every test of a file: time starts at 0 in `beforeEach`;
// after each test the intervals the test kept are cleared, every watchdog made through `setup()`
// is stopped and real timers come back.
import { afterEach, beforeEach, vi } from 'vitest';
import type { Watchdog, WatchdogPolicyOptions } from '../../src/index.js';
import { createWatchdog, type WatchdogInternalOptions } from '../../src/watchdog.js';

export interface FakeWatchdogs {
	/** A watchdog without a per-user pending limit (then `policy`), stopped after the test. */
	setup(policy?: WatchdogPolicyOptions, options?: WatchdogInternalOptions): Watchdog;
	/** Keeps `intervals` to clear after the test (or at `clearIntervals()`). */
	addInterval(...intervals: Array<ReturnType<typeof setInterval>>): void;
	/** Clears every interval kept so far, now. */
	clearIntervals(): void;
}

export function useFakeWatchdogs(): FakeWatchdogs {
	const watchdogs: Watchdog[] = [];
	const intervals: Array<ReturnType<typeof setInterval>> = [];
	const clearIntervals = (): void => {
		for (const interval of intervals.splice(0)) clearInterval(interval);
	};

	beforeEach(() => {
		vi.useFakeTimers({ now: 0 });
	});

	afterEach(() => {
		clearIntervals();
		for (const watchdog of watchdogs.splice(0)) watchdog.stop();
		vi.useRealTimers();
	});

	return {
		setup(policy = {}, options = {}) {
			const watchdog = createWatchdog({ maxPendingPerUser: Number.POSITIVE_INFINITY, ...policy }, options);
			watchdogs.push(watchdog);
			return watchdog;
		},
		addInterval(...added) {
			intervals.push(...added);
		},
		clearIntervals,
	};
}
