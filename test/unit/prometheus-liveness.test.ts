// registerPrometheusMetrics(): the liveness part of snapshot() (polled transports, request rate,
// poll interval, detection bound, slow-cadence / echo / unjudged / stalled transports, stats
// errors), read at each scrape and summed or maxed over several watchdogs, and the listener errors
// of watches and of the observer. Fake transports and fake timers drive the real scheduler;
// test/integration/prometheus.test.ts does the same against a real worker.
import { Registry } from 'prom-client';
import { describe, expect, it, vi } from 'vitest';
import { registerPrometheusMetrics } from '../../src/adapters/prometheus.js';
import type { Watchdog, WatchdogSnapshot } from '../../src/index.js';
import { STALLED_AFTER_MS as STATS_TIMEOUT_MS } from '../../src/liveness/scheduler.js';
import { createFakeTransport, type FakeTransportStat, type FakeWebRtcTransport } from '../helpers/fake-transport.js';
import { useFakeWatchdogs } from '../helpers/fake-watchdogs.js';
import { samples } from '../helpers/prometheus-samples.js';

type Transport = FakeWebRtcTransport<{ userId: string }>;

const { setup, addInterval } = useFakeWatchdogs();

/** A fake transport of `userId`, watched and connected: the scheduler polls it from now on. */
function connected(watchdog: Watchdog, userId: string): Transport {
	const { transport } = createFakeTransport({ appData: { userId } });
	const watch = watchdog.watch(transport);
	transport.connectClient();
	expect(watch.state).toBe('connected');
	return transport;
}

/** Runs `step` every `everyMs` of fake time until the test ends. */
function every(everyMs: number, step: () => void): void {
	addInterval(setInterval(step, everyMs));
}

const P = 'mediasoup_watchdog_liveness_';

/** The liveness totals (the per-worker list, `workers`, is not exported as series here). */
type LivenessTotal = Exclude<keyof WatchdogSnapshot['liveness'], 'workers'>;

/** The liveness series of a scrape, named by the snapshot field each one exports (seconds kept as exported). */
function livenessOf(scrape: Map<string, number>): Record<LivenessTotal, number | undefined> {
	return {
		tracked: scrape.get(`${P}polled_transports`),
		requestsPerSecond: scrape.get(`${P}stats_requests_per_second`),
		pollIntervalMs: scrape.get(`${P}poll_interval_seconds`),
		detectionBoundMs: scrape.get(`${P}detection_bound_seconds`),
		slowCadence: scrape.get(`${P}slow_cadence_transports`),
		echo: scrape.get(`${P}echo_transports`),
		unjudged: scrape.get(`${P}unjudged_transports`),
		stalled: scrape.get(`${P}stalled_transports`),
		statsErrors: scrape.get(`${P}stats_errors_total`),
	};
}

/** What livenessOf() must read for these snapshots: counts and rates summed, durations the largest, in seconds. */
function expectedFrom(...snaps: WatchdogSnapshot[]): Record<LivenessTotal, number> {
	const sum = (pick: (l: WatchdogSnapshot['liveness']) => number): number =>
		snaps.reduce((total, s) => total + pick(s.liveness), 0);
	const max = (pick: (l: WatchdogSnapshot['liveness']) => number): number => Math.max(...snaps.map((s) => pick(s.liveness)));
	return {
		tracked: sum((l) => l.tracked),
		requestsPerSecond: sum((l) => l.requestsPerSecond),
		pollIntervalMs: max((l) => l.pollIntervalMs) / 1_000,
		detectionBoundMs: max((l) => l.detectionBoundMs) / 1_000,
		slowCadence: sum((l) => l.slowCadence),
		echo: sum((l) => l.echo),
		unjudged: sum((l) => l.unjudged),
		stalled: sum((l) => l.stalled),
		statsErrors: sum((l) => l.statsErrors),
	};
}

describe('registerPrometheusMetrics(): liveness', () => {
	it('reads every liveness series from snapshot() at each scrape, count for count with what the transports did', async () => {
		const watchdog = setup(); // inactivityTimeoutMs 8 s, polls every 2 s
		const registry = new Registry();
		const metrics = registerPrometheusMetrics(watchdog, { registry });

		let scrape = samples(await registry.metrics());
		expect(livenessOf(scrape)).toEqual({
			tracked: 0,
			requestsPerSecond: 0,
			pollIntervalMs: 2,
			detectionBoundMs: 10, // the 8 s bound plus one 2 s period
			slowCadence: 0,
			echo: 0,
			unjudged: 0,
			stalled: 0,
			statsErrors: 0,
		});

		// A DataChannel-only client with one consent check every 5 s (werift, Firefox): judged with a
		// longer bound, and kept alive by its replies too, as it never carried RTP.
		const quiet = connected(watchdog, 'quiet');
		every(5_000, () => {
			quiet.bytesReceived += 100;
		});
		// A WebRtcServer transport without media: only the worker's consent replies move.
		const consent = connected(watchdog, 'consent');
		every(2_500, () => {
			consent.counters.bytesSent += 64;
		});
		// A worker that fails twice, then never answers (for a client that is there all along).
		const failing = connected(watchdog, 'failing');
		every(500, () => {
			failing.bytesReceived += 100;
		});
		let failures = 2;
		let answer: ((stats: FakeTransportStat[]) => void) | undefined;
		failing.getStatsImpl = () =>
			failures-- > 0
				? Promise.reject(new Error('Channel request timeout'))
				: new Promise((resolve) => {
						answer = resolve;
					});
		// Stats without bytesReceived: not judgeable (for a client that is there all along).
		const blank = connected(watchdog, 'blank');
		every(500, () => {
			blank.bytesReceived += 100;
		});
		blank.getStatsImpl = async () => [];

		await vi.advanceTimersByTimeAsync(60_000);
		const snap = watchdog.snapshot();
		expect(snap.liveness).toEqual({
			tracked: 4,
			requestsPerSecond: 2, // 4 transports every 2 s
			pollIntervalMs: 2_000,
			detectionBoundMs: 10_000,
			slowCadence: 2, // quiet (5 s), and consent (2.5 s, read to within a 2 s sampling interval: up to 4 s)
			echo: 2, // quiet and consent; the other two never gave a sample
			unjudged: 1, // blank
			stalled: 1, // failing, since its third request
			statsErrors: 2,
			workers: [expect.objectContaining({ tracked: 4, requestsPerSecond: 2, pid: null })], // one worker, unknown
		});
		scrape = samples(await registry.metrics());
		expect(livenessOf(scrape)).toEqual(expectedFrom(snap));

		// The stuck request answers, the blank one gives real stats, and one more request fails.
		failing.getStatsImpl = undefined;
		answer?.(await failing.getStats());
		blank.getStatsImpl = undefined;
		failures = 1;
		const original = failing.getStats.bind(failing);
		failing.getStats = () => (failures-- > 0 ? Promise.reject(new Error('Channel request timeout')) : original());
		await vi.advanceTimersByTimeAsync(STATS_TIMEOUT_MS);
		expect(watchdog.snapshot().liveness).toMatchObject({ tracked: 4, unjudged: 0, stalled: 0, statsErrors: 3 });
		scrape = samples(await registry.metrics());
		expect(livenessOf(scrape)).toEqual(expectedFrom(watchdog.snapshot()));
		// Scraping again changes no counter.
		expect(livenessOf(samples(await registry.metrics()))).toEqual(livenessOf(scrape));

		// Every watch ends: nothing polled, the error counter keeps its count.
		for (const transport of [quiet, consent, failing, blank]) watchdog.get(transport.id)?.close();
		scrape = samples(await registry.metrics());
		expect(livenessOf(scrape)).toMatchObject({ tracked: 0, requestsPerSecond: 0, slowCadence: 0, echo: 0, statsErrors: 3 });

		metrics.unregister();
		expect(await registry.getMetricsAsJSON()).toEqual([]);
	});

	it('sums counts and rates over several watchdogs and takes the largest poll interval and detection bound, each on its own', async () => {
		// one: a long timeout at the full pace; two: a short timeout over a budget of 1 request/s.
		const one = setup({ inactivityTimeoutMs: 20_000 });
		const two = setup({ liveness: { maxStatsRequestsPerSecond: 1, pollIntervalMs: 1_000 } });
		const registry = new Registry();
		const metrics = registerPrometheusMetrics([one, two], { registry });
		const failingOnce = (transport: Transport): void => {
			let failures = 1;
			const original = transport.getStats.bind(transport);
			transport.getStats = () => (failures-- > 0 ? Promise.reject(new Error('Channel request timeout')) : original());
		};
		for (const transport of [connected(one, 'a'), connected(two, 'b'), connected(two, 'c'), connected(two, 'd')]) {
			failingOnce(transport);
			every(500, () => {
				transport.bytesReceived += 100;
			});
		}
		await vi.advanceTimersByTimeAsync(10_000);

		const [snapOne, snapTwo] = [one.snapshot(), two.snapshot()];
		expect(snapOne.liveness).toMatchObject({
			tracked: 1,
			requestsPerSecond: 0.5,
			pollIntervalMs: 2_000,
			detectionBoundMs: 22_000,
		});
		// 3 transports at 1 request/s: each every 3 s; the bound (8 s) plus one period, since the
		// deciding poll comes when the bound ends (the judge's own hint), not at the next whole period.
		expect(snapTwo.liveness).toMatchObject({ tracked: 3, requestsPerSecond: 1, pollIntervalMs: 3_000, detectionBoundMs: 11_000 });
		const scrape = samples(await registry.metrics());
		expect(livenessOf(scrape)).toEqual(expectedFrom(snapOne, snapTwo));
		expect(livenessOf(scrape)).toMatchObject({
			tracked: 4,
			requestsPerSecond: 1.5,
			pollIntervalMs: 3, // two's
			detectionBoundMs: 22, // one's
			statsErrors: 4,
		});
		const help = await registry.metrics();
		expect(help).toMatch(/# HELP mediasoup_watchdog_liveness_poll_interval_seconds .*\(the largest over watchdogs\)/);
		expect(help).toMatch(/# HELP mediasoup_watchdog_liveness_polled_transports .*\(summed over watchdogs\)/);
		metrics.unregister();
	});

	it('reports an infinite detection bound for a watchdog with liveness off', async () => {
		const registry = new Registry();
		using _metrics = registerPrometheusMetrics(setup({ inactivityTimeoutMs: Number.POSITIVE_INFINITY }), { registry });
		const text = await registry.metrics();
		expect(text).toContain('\nmediasoup_watchdog_liveness_detection_bound_seconds +Inf\n');
		expect(samples(text).get(`${P}polled_transports`)).toBe(0);
	});
});

describe('registerPrometheusMetrics(): listener errors', () => {
	it('counts the throwing listeners of watches and of the observer by source, summed over watchdogs, from 0', async () => {
		const [one, two] = [
			setup({ inactivityTimeoutMs: Number.POSITIVE_INFINITY }),
			setup({ inactivityTimeoutMs: Number.POSITIVE_INFINITY }),
		];
		const registry = new Registry();
		const metrics = registerPrometheusMetrics([one, two], { registry });
		const series = async (): Promise<Array<number | undefined>> => {
			const scrape = samples(await registry.metrics());
			return [
				scrape.get('mediasoup_watchdog_listener_errors_total{source="watch"}'),
				scrape.get('mediasoup_watchdog_listener_errors_total{source="observer"}'),
			];
		};
		expect(await series()).toEqual([0, 0]);

		const { transport: a } = createFakeTransport({ appData: { userId: 'alice' } });
		const watchA = one.watch(a);
		watchA.on('connect', () => {
			throw new Error('app bug in connect');
		});
		watchA.on('close', () => {
			throw new Error('app bug in close');
		});
		const { transport: b } = createFakeTransport({ appData: { userId: 'bob' } });
		two.watch(b).on('statechange', () => {
			throw new Error('app bug in statechange');
		});
		two.observer.on('connect', () => {
			throw new Error('adapter bug');
		});
		a.connectClient(); // watch: connect
		b.connectClient(); // watch: statechange; observer: connect
		watchA.close(); // watch: close
		expect(await series()).toEqual([3, 1]);
		metrics.unregister();
		expect(await registry.getMetricsAsJSON()).toEqual([]);
	});
});
