// watchdog.snapshot(): counts by state, closes by reason, restart decisions by reason, the
// time-to-connect and detection summaries, exact under a manual clock; and cheap enough to call
// every second with 10 000 watched transports.
import { afterEach, describe, expect, it } from 'vitest';
import { isIceRestartDeniedError } from '../../src/errors.js';
import type { CloseInfo, Watchdog, WatchdogPolicyOptions, WatchdogSnapshot } from '../../src/index.js';
import { createWatchdog } from '../../src/watchdog.js';
import { createFakeTransport, type FakeWebRtcTransport } from '../helpers/fake-transport.js';
import { ManualClock } from '../helpers/manual-clock.js';

const watchdogs: Watchdog[] = [];
afterEach(() => {
	for (const watchdog of watchdogs.splice(0)) watchdog.stop();
});

function setup(policy: WatchdogPolicyOptions = {}): { clock: ManualClock; watchdog: Watchdog } {
	const clock = new ManualClock();
	const watchdog = createWatchdog(policy, { clock });
	watchdogs.push(watchdog);
	return { clock, watchdog };
}

function transportOf(userId: string): FakeWebRtcTransport<{ userId: string }> {
	return createFakeTransport({ appData: { userId } }).transport;
}

/** The summary of an empty window (no sample yet). */
const EMPTY = { count: 0, sum: 0, window: 0, min: null, mean: null, p50: null, p95: null, max: null };

describe('watchdog.snapshot()', () => {
	it('starts at zero for every state, reason and summary', () => {
		const { watchdog } = setup();
		expect(watchdog.snapshot()).toEqual({
			transports: { connecting: 0, connected: 0, disconnected: 0, restarting: 0 },
			closes: {},
			restarts: { granted: 0, denied: {} },
			timeToConnectMs: EMPTY,
			detectionMs: EMPTY,
			liveness: expect.objectContaining({ tracked: 0 }),
			users: 0,
			ports: { ranges: [], webRtcServers: [] },
		});
	});

	it('follows every watch through its states and counts each close, restart decision and sample exactly once', async () => {
		const { clock, watchdog } = setup({
			connectTimeoutMs: 10_000,
			disconnectGraceMs: 3_000,
			inactivityTimeoutMs: Number.POSITIVE_INFINITY,
			iceRestart: { perUser: { limit: 1, windowMs: 60_000 }, reconnectTimeoutMs: 4_000 },
		});
		const closes: CloseInfo[] = [];
		watchdog.observer.on('close', (info) => closes.push(info));
		const [a, b, c, d, e] = [
			transportOf('alice'),
			transportOf('alice'),
			transportOf('bob'),
			transportOf('carol'),
			transportOf('dave'),
		];
		const [wa, wb, wc, wd, we] = [watchdog.watch(a), watchdog.watch(b), watchdog.watch(c), watchdog.watch(d), watchdog.watch(e)];
		expect(watchdog.snapshot().transports).toEqual({ connecting: 5, connected: 0, disconnected: 0, restarting: 0 });
		expect(watchdog.snapshot().users).toBe(4);

		await clock.advance(200);
		a.connectClient();
		await clock.advance(300);
		b.connectClient();
		c.connectClient();
		let snap = watchdog.snapshot();
		expect(snap.transports).toEqual({ connecting: 2, connected: 3, disconnected: 0, restarting: 0 });
		expect(snap.timeToConnectMs).toEqual({
			count: 3,
			sum: 200 + 500 + 500,
			window: 3,
			min: 200,
			mean: 400,
			p50: 500,
			p95: 500,
			max: 500,
		});

		// a restart before the first connect is refused; b's restart is granted, then a's is over alice's limit
		await expect(wd.restartIce()).rejects.toSatisfy(
			(error) => isIceRestartDeniedError(error) && error.reason === 'never-connected',
		);
		await wb.restartIce();
		await expect(wa.restartIce()).rejects.toSatisfy((error) => isIceRestartDeniedError(error) && error.reason === 'rate-limited');
		c.emitIceState('disconnected');
		snap = watchdog.snapshot();
		expect(snap.transports).toEqual({ connecting: 2, connected: 1, disconnected: 1, restarting: 1 });
		expect(snap.restarts).toEqual({ granted: 1, denied: { 'never-connected': 1, 'rate-limited': 1 } });

		// c's grace runs out after 3 s, b's restart is not followed within 4 s (no bytes), d and e never connect
		await clock.advance(10_000);
		snap = watchdog.snapshot();
		expect(closes.map((info) => [info.transportId, info.reason])).toEqual([
			[c.id, 'ice-disconnected'],
			[b.id, 'restart-timeout'],
			[d.id, 'connect-timeout'],
			[e.id, 'connect-timeout'],
		]);
		expect(snap.transports).toEqual({ connecting: 0, connected: 1, disconnected: 0, restarting: 0 });
		expect(snap.closes).toEqual({ 'ice-disconnected': 1, 'restart-timeout': 1, 'connect-timeout': 2 });
		expect(snap.detectionMs).toEqual({
			count: 2,
			sum: 7_000,
			window: 2,
			min: 3_000,
			mean: 3_500,
			p50: 3_000,
			p95: 4_000,
			max: 4_000,
		});
		expect(snap.users).toBe(1);

		// a closed watch refuses a restart: counted as 'closed'; a stop is not a close
		await expect(wc.restartIce()).rejects.toSatisfy((error) => isIceRestartDeniedError(error) && error.reason === 'closed');
		wa.stop();
		snap = watchdog.snapshot();
		expect(snap.restarts.denied).toEqual({ 'never-connected': 1, 'rate-limited': 1, closed: 1 });
		expect(snap.transports).toEqual({ connecting: 0, connected: 0, disconnected: 0, restarting: 0 });
		expect(snap.closes).toEqual({ 'ice-disconnected': 1, 'restart-timeout': 1, 'connect-timeout': 2 });
		expect(snap.users).toBe(0);
		expect(we.state).toBe('closed');
	});

	it('counts closes the watchdog only records (transport, router and WebRtcServer closed, the app) by their reason', () => {
		const { watchdog } = setup({ maxPendingPerUser: Number.POSITIVE_INFINITY });
		const closedByApp = transportOf('alice');
		const closedOutside = transportOf('alice');
		const routerGone = transportOf('bob');
		for (const t of [closedByApp, closedOutside, routerGone]) watchdog.watch(t);
		watchdog.get(closedByApp.id)?.close('kicked');
		closedOutside.close();
		routerGone.routerClosed();
		expect(watchdog.snapshot().closes).toEqual({ app: 1, 'transport-closed': 1, 'router-closed': 1 });
		expect(watchdog.snapshot().detectionMs).toEqual(EMPTY);
	});

	it('hands out plain data that the caller may keep or change without touching the watchdog', () => {
		const { watchdog } = setup();
		const t = transportOf('alice');
		watchdog.watch(t);
		t.connectClient();
		const snap = watchdog.snapshot();
		expect(JSON.parse(JSON.stringify(snap))).toEqual(snap);
		(snap.transports as { connected: number }).connected = 99;
		(snap.closes as Record<string, number>).app = 7;
		expect(watchdog.snapshot().transports.connected).toBe(1);
		expect(watchdog.snapshot().closes).toEqual({});
	});

	it('costs a few microseconds per call with 10 000 watched transports, independent of their number', async () => {
		const { clock, watchdog } = setup({
			maxPendingPerUser: Number.POSITIVE_INFINITY,
			connectTimeoutMs: 60_000,
			inactivityTimeoutMs: Number.POSITIVE_INFINITY,
		});
		/** Mean µs of one snapshot() call; `between` runs outside the timed part. */
		const measure = (calls: number, between?: () => void): number => {
			let spent = 0;
			let sink = 0;
			for (let i = 0; i < calls; i++) {
				between?.();
				const start = performance.now();
				sink += watchdog.snapshot().transports.connected;
				spent += performance.now() - start;
			}
			expect(sink).toBeGreaterThanOrEqual(0);
			return (spent / calls) * 1_000;
		};
		const idle = measure(1_000);

		const transports: Array<FakeWebRtcTransport<{ userId: string }>> = [];
		for (let i = 0; i < 10_000; i++) {
			const t = transportOf(`user-${i % 2_500}`);
			transports.push(t);
			watchdog.watch(t);
		}
		// 7 000 connect over time, filling the time-to-connect window; 3 000 time out, filling the other
		for (const [i, t] of transports.entries()) {
			if (i % 10 >= 7) continue;
			if (i % 100 === 0) await clock.advance(1);
			t.connectClient();
		}
		await clock.advance(60_000);
		const snap = watchdog.snapshot();
		expect(snap.transports.connected).toBe(7_000);
		expect(snap.closes['connect-timeout']).toBe(3_000);
		expect(snap.timeToConnectMs.count).toBe(7_000);
		expect(snap.timeToConnectMs.window).toBe(1_024);
		expect(snap.users).toBe(new Set(transports.filter((t) => t.dtlsState === 'connected').map((t) => t.appData.userId)).size);

		const steady = measure(1_000);
		// Worst case: a new sample before every call, so each call sorts a full window again.
		let n = 0;
		const churn = measure(200, () => {
			const t = transportOf(`late-${n++}`);
			watchdog.watch(t);
			t.connectClient();
		});
		expect(watchdog.snapshot().timeToConnectMs.count).toBe(7_200);
		console.info(
			`[snapshot] µs per call: empty watchdog ${idle.toFixed(1)}, 10 000 transports ${steady.toFixed(1)}, ` +
				`10 000 transports with a new sample before each call ${churn.toFixed(1)}`,
		);
		// Called once a second, anything below a millisecond is free; it must not grow with the count.
		expect(steady).toBeLessThan(1_000);
		expect(churn).toBeLessThan(1_000);
		expect(steady).toBeLessThan(Math.max(100, idle * 20));
	});
});

describe('snapshot() summaries over time', () => {
	it('keeps counts and sums as totals while samples older than ten minutes leave the window', async () => {
		const { clock, watchdog } = setup({ maxPendingPerUser: Number.POSITIVE_INFINITY });
		const first = transportOf('alice');
		watchdog.watch(first);
		await clock.advance(1_000);
		first.connectClient();
		await clock.advance(9 * 60_000);
		const second = transportOf('alice');
		watchdog.watch(second);
		await clock.advance(3_000);
		second.connectClient();
		expect(watchdog.snapshot().timeToConnectMs).toEqual({
			count: 2,
			sum: 4_000,
			window: 2,
			min: 1_000,
			mean: 2_000,
			p50: 1_000,
			p95: 3_000,
			max: 3_000,
		});
		await clock.advance(60_000);
		const snap: WatchdogSnapshot = watchdog.snapshot();
		expect(snap.timeToConnectMs).toEqual({
			count: 2,
			sum: 4_000,
			window: 1,
			min: 3_000,
			mean: 3_000,
			p50: 3_000,
			p95: 3_000,
			max: 3_000,
		});
		await clock.advance(10 * 60_000);
		expect(watchdog.snapshot().timeToConnectMs).toEqual({ ...EMPTY, count: 2, sum: 4_000 });
	});
});
