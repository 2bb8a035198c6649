// The liveness scheduler at the slowest budgets: no delay it hands the clock exceeds the longest
// timer (Node fires a longer one after 1 ms, which would make the scheduler spin), so a tick or a
// poll period beyond it takes a few wake-ups, and polls still never come early. definePolicy()
// refuses a budget whose single request interval no timer can wait.
import { describe, expect, it } from 'vitest';
import { MAX_TIMER_MS, type TimerHandle } from '../../src/clock.js';
import type { Watchdog } from '../../src/index.js';
import { definePolicy } from '../../src/policy.js';
import { createWatchdog } from '../../src/watchdog.js';
import { createFakeTransport, type FakeWebRtcTransport } from '../helpers/fake-transport.js';
import { ManualClock } from '../helpers/manual-clock.js';

/** More timers than any test here needs by far: beyond it the scheduler spins. */
const MAX_TIMERS = 1_000;

/**
 * A ManualClock that records every delay and treats one above MAX_TIMER_MS as Node does (it fires
 * after 1 ms); it throws once MAX_TIMERS timers were set, so a spinning scheduler fails the test.
 */
class NodeLikeClock extends ManualClock {
	readonly delays: number[] = [];

	override setTimeout(callback: () => void, ms: number): TimerHandle {
		this.delays.push(ms);
		if (this.delays.length > MAX_TIMERS) throw new Error(`more than ${MAX_TIMERS} timers set: the scheduler spins`);
		return super.setTimeout(callback, ms > MAX_TIMER_MS ? 1 : ms);
	}
}

/** Connected transports whose bytesReceived grows at every getStats(); the time of each call, per transport. */
function connectAll(
	watchdog: Watchdog,
	clock: ManualClock,
	count: number,
): Array<{ transport: FakeWebRtcTransport; polls: number[] }> {
	return Array.from({ length: count }, (_, i) => {
		const { transport } = createFakeTransport({ appData: { userId: `user-${i}` } });
		const polls: number[] = [];
		const original = transport.getStats.bind(transport);
		transport.getStats = () => {
			polls.push(clock.now());
			transport.bytesReceived += 100;
			return original();
		};
		watchdog.watch(transport);
		transport.connectClient();
		return { transport, polls };
	});
}

/** The time between consecutive polls. */
function gapsOf(polls: number[]): number[] {
	return polls.slice(1).map((at, i) => at - (polls[i] as number));
}

describe('the slowest budget', () => {
	it('refuses a budget whose one request interval (1000 / budget ms) is longer than the longest timer', () => {
		for (const value of [1e-7, 4e-7, 1000 / (MAX_TIMER_MS + 1)]) {
			const run = () => definePolicy({ liveness: { maxStatsRequestsPerSecond: value } });
			expect(run).toThrow(RangeError);
			expect(run).toThrow(
				`\`liveness.maxStatsRequestsPerSecond\` must be at least 1000 / ${MAX_TIMER_MS} (about 4.66e-7, one request per ${MAX_TIMER_MS} ms, the longest timer), got ${value} (number)`,
			);
		}
	});

	it('accepts one request per longest timer, and polls without ever setting a longer timer', async () => {
		const slowest = 1000 / MAX_TIMER_MS;
		expect(definePolicy({ liveness: { maxStatsRequestsPerSecond: slowest } }).liveness.maxStatsRequestsPerSecond).toBe(slowest);
		const clock = new NodeLikeClock();
		const watchdog = createWatchdog(
			{ liveness: { maxStatsRequestsPerSecond: slowest }, maxPendingPerUser: Number.POSITIVE_INFINITY },
			{ clock },
		);
		// Three transports at one request per MAX_TIMER_MS: each is polled every 3 × MAX_TIMER_MS.
		const watched = connectAll(watchdog, clock, 3);
		await clock.advance(12 * MAX_TIMER_MS);
		// One wake-up per longest timer (the 15 s ones are the watches' connect deadlines)...
		expect(clock.delays.filter((ms) => ms !== 15_000)).toEqual(Array(13).fill(MAX_TIMER_MS));
		// ...each polling the transport whose turn it is: first polls one request apart, then each
		// transport exactly one period (3 × MAX_TIMER_MS) after its last poll.
		expect(watched.map(({ polls }) => polls.map((at) => at / MAX_TIMER_MS))).toEqual([
			[1, 4, 7, 10],
			[2, 5, 8, 11],
			[3, 6, 9, 12],
		]);
		expect(watchdog.snapshot().liveness.pollIntervalMs).toBe(3 * MAX_TIMER_MS);
		expect(watched.every(({ transport }) => !transport.closed)).toBe(true);
		watchdog.stop();
	});
});

describe('a poll period longer than the longest timer', () => {
	it('waits for a transport due in more than 2^31-1 ms with a few wake-ups that poll nothing early', async () => {
		// 1e-5 requests/s: one every 1e8 ms. One transport is polled, then 24 more join behind it and
		// stretch the period to 25 × 1e8 = 2.5e9 ms: the first is next due about 2.4e9 ms later (as at
		// 0.01/s with 25 000 transports).
		const clock = new NodeLikeClock();
		const watchdog = createWatchdog(
			{ liveness: { maxStatsRequestsPerSecond: 1e-5 }, maxPendingPerUser: Number.POSITIVE_INFINITY },
			{ clock },
		);
		const [first] = connectAll(watchdog, clock, 1);
		await clock.advance(1e8);
		expect(first?.polls).toEqual([1e8]);
		const crowd = connectAll(watchdog, clock, 24);
		const periodMs = 25 * 1e8;
		expect(watchdog.snapshot().liveness.pollIntervalMs).toBe(periodMs);
		await clock.advance(3 * periodMs);
		expect(Math.max(...clock.delays)).toBeLessThanOrEqual(MAX_TIMER_MS);
		expect(clock.created).toBeLessThan(MAX_TIMERS / 4);
		// The first is polled one period after its last poll, not a millisecond sooner, and then every
		// period; the crowd every period too, never sooner.
		expect(first?.polls).toEqual([1e8, 1e8 + periodMs, 1e8 + 2 * periodMs, 1e8 + 3 * periodMs]);
		for (const { polls } of crowd) {
			expect(polls.length).toBeGreaterThanOrEqual(2);
			for (const gap of gapsOf(polls)) expect(gap).toBeGreaterThanOrEqual(periodMs);
		}
		watchdog.stop();
	});
});
