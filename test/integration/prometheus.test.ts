// The Prometheus exporter against the real thing: a real mediasoup worker, a real werift client
// (its own process) that connects, a transport that never connects and times out, ICE restarts
// granted and denied, an app listener that throws. The text a real prom-client Registry serves
// holds the expected series with the values those events produced; unregister() leaves the
// registry empty. Then the liveness scheduler's state: two real werift clients, one left alone
// (a quiet DataChannel-only client), one whose worker requests are made to fail, hang and answer
// blank; every liveness series matches snapshot() and what was done, count for count.
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import {
	DEFAULT_DETECTION_BUCKETS,
	DEFAULT_TIME_TO_CONNECT_BUCKETS,
	registerPrometheusMetrics,
} from '../../src/adapters/prometheus.js';
import type { CloseInfo, TransportWatch, Watchdog, WatchdogSnapshot, WatchListenerErrorEvent } from '../../src/index.js';
import { createWatchdog } from '../../src/index.js';
import { createTestTransport, type WebRtcTransport } from '../helpers/mediasoup.js';
import { useMediasoup } from '../helpers/mediasoup-fixture.js';
import { samples } from '../helpers/prometheus-samples.js';
import { closeAllWeriftClients, spawnWeriftClient } from '../helpers/werift/harness.js';

const sfu = useMediasoup({ closeClients: [closeAllWeriftClients] });
let watchdog: Watchdog | undefined;

afterEach(() => {
	watchdog?.stop();
	watchdog = undefined;
});

/** Reads one sample, failing with the whole scrape when the series is missing. */
function sample(scrape: Map<string, number>, series: string): number {
	const value = scrape.get(series);
	if (value === undefined) throw new Error(`series ${series} missing from the scrape:\n${[...scrape.keys()].join('\n')}`);
	return value;
}

/** What a histogram's cumulative buckets must hold for these observations (seconds). */
function expectHistogram(
	scrape: Map<string, number>,
	name: string,
	labels: string,
	buckets: readonly number[],
	values: number[],
): void {
	const suffix = labels === '' ? '' : `,${labels}`;
	const braces = labels === '' ? '' : `{${labels}}`;
	for (const le of buckets) {
		expect(sample(scrape, `${name}_bucket{le="${le}"${suffix}}`), `${name} le=${le}`).toBe(values.filter((v) => v <= le).length);
	}
	expect(sample(scrape, `${name}_bucket{le="+Inf"${suffix}}`)).toBe(values.length);
	expect(sample(scrape, `${name}_count${braces}`)).toBe(values.length);
	expect(sample(scrape, `${name}_sum${braces}`)).toBeCloseTo(
		values.reduce((sum, v) => sum + v, 0),
		9,
	);
}

function nextConnect(watch: TransportWatch<WebRtcTransport>): Promise<number> {
	return new Promise((resolve) => watch.once('connect', ({ timeToConnectMs }) => resolve(timeToConnectMs)));
}

describe('mediasoup-watchdog/prometheus with a real worker and a real client', () => {
	it('exports a connect, a connect timeout, granted and denied restarts and a restart timeout, then unregisters cleanly', async () => {
		const { router } = sfu;
		watchdog = createWatchdog({
			// The werift peer is spawned before its transport exists (the spawn is the harness's cost,
			// well over 10 s on 2 busy cores); what the deadline covers is its negotiation and
			// handshakes, which take a few hundred ms idle and seconds under a CPU hog: 5 s, the bound
			// test/integration/werift-client.test.ts holds the whole connect to.
			connectTimeoutMs: 5_000,
			// liveness is not under test here: the restart deadline is what detects the vanished client
			inactivityTimeoutMs: Number.POSITIVE_INFINITY,
			iceRestart: { perUser: { limit: 1, windowMs: 60_000 }, reconnectTimeoutMs: 1_000 },
		});
		const forwarded: WatchListenerErrorEvent[] = [];
		watchdog.observer.on('watchlistenererror', (event) => forwarded.push(event));
		const registry = new Registry();
		const listenersBefore = watchdog.observer.listenerCount();
		const exporter = registerPrometheusMetrics(watchdog, { registry });

		// A real client connects a transport; an app listener of its `connect` throws.
		const peer = await spawnWeriftClient();
		const connected = await createTestTransport(router, { enableSctp: true, appData: { userId: 'alice' } });
		const connectedWatch = watchdog.watch(connected);
		const appBug = new Error('app bug in a connect listener');
		connectedWatch.on('connect', () => {
			throw appBug;
		});
		const connectedAt = nextConnect(connectedWatch);
		const client = await peer.connect({ transport: connected, echo: false });
		await client.waitForConnected();
		const timeToConnectMs = await connectedAt;

		// Another never does: its restart is refused, then its deadline closes it.
		const silent = await createTestTransport(router, { appData: { userId: 'bob' } });
		const silentWatch = watchdog.watch(silent);
		await expect(silentWatch.restartIce()).rejects.toMatchObject({ name: 'IceRestartDeniedError', reason: 'never-connected' });

		let scrape = samples(await registry.metrics());
		expect(sample(scrape, 'mediasoup_watchdog_transports{state="connecting"}')).toBe(1);
		expect(sample(scrape, 'mediasoup_watchdog_transports{state="connected"}')).toBe(1);
		expect(sample(scrape, 'mediasoup_watchdog_users')).toBe(2);
		expect(sample(scrape, 'mediasoup_watchdog_ice_restarts_total{outcome="denied",reason="never-connected"}')).toBe(1);
		expect(forwarded).toEqual([{ transportId: connected.id, userId: 'alice', event: 'connect', error: appBug }]);
		expect(sample(scrape, 'mediasoup_watchdog_listener_errors_total{source="watch"}')).toBe(1);
		expect(sample(scrape, 'mediasoup_watchdog_listener_errors_total{source="observer"}')).toBe(0);
		expectHistogram(scrape, 'mediasoup_watchdog_time_to_connect_seconds', '', DEFAULT_TIME_TO_CONNECT_BUCKETS, [
			timeToConnectMs / 1_000,
		]);

		// The client vanishes; a restart is granted, a second one is over the user's limit, and
		// nothing answers the granted one before its deadline.
		client.kill();
		await connectedWatch.restartIce();
		await expect(connectedWatch.restartIce()).rejects.toMatchObject({ name: 'IceRestartDeniedError', reason: 'rate-limited' });
		const [restartClose, timeoutClose]: CloseInfo[] = await Promise.all([connectedWatch.closed, silentWatch.closed]);
		expect(restartClose?.reason).toBe('restart-timeout');
		expect(timeoutClose?.reason).toBe('connect-timeout');
		const detectionMs = restartClose?.detectionMs;
		if (detectionMs === null || detectionMs === undefined) throw new Error('a restart timeout carries its detection time');
		expect(connected.closed && silent.closed).toBe(true);

		const text = await registry.metrics();
		scrape = samples(text);
		expect(text).toContain('# TYPE mediasoup_watchdog_transport_closes_total counter');
		expect(text).toContain('# TYPE mediasoup_watchdog_detection_latency_seconds histogram');
		const closes = [...scrape].filter(
			([series, value]) => series.startsWith('mediasoup_watchdog_transport_closes_total') && value > 0,
		);
		expect(closes).toEqual([
			['mediasoup_watchdog_transport_closes_total{reason="connect-timeout"}', 1],
			['mediasoup_watchdog_transport_closes_total{reason="restart-timeout"}', 1],
		]);
		const restarts = [...scrape].filter(([series]) => series.startsWith('mediasoup_watchdog_ice_restarts_total'));
		expect(Object.fromEntries(restarts)).toEqual({
			'mediasoup_watchdog_ice_restarts_total{outcome="granted"}': 1,
			'mediasoup_watchdog_ice_restarts_total{outcome="denied",reason="never-connected"}': 1,
			'mediasoup_watchdog_ice_restarts_total{outcome="denied",reason="rate-limited"}': 1,
			'mediasoup_watchdog_ice_restarts_total{outcome="denied",reason="closed"}': 0,
			'mediasoup_watchdog_ice_restarts_total{outcome="denied",reason="store-unavailable"}': 0,
			'mediasoup_watchdog_ice_restarts_total{outcome="denied",reason="storm"}': 0,
		});
		expectHistogram(
			scrape,
			'mediasoup_watchdog_detection_latency_seconds',
			'reason="restart-timeout"',
			DEFAULT_DETECTION_BUCKETS,
			[detectionMs / 1_000],
		);
		// The restart deadline is 1 s, so the decision came 1 s (plus one getStats round trip) after the grant.
		expect(detectionMs).toBeGreaterThanOrEqual(1_000);
		expect(detectionMs).toBeLessThan(3_000);
		// Only the restart timeout measured a detection; the other measured reasons' series are at 0
		// from the registration on (connect-timeout measures none, so it has no series).
		const detectionCounts = [...scrape].filter(([s]) => s.startsWith('mediasoup_watchdog_detection_latency_seconds_count'));
		expect(Object.fromEntries(detectionCounts)).toEqual({
			'mediasoup_watchdog_detection_latency_seconds_count{reason="dtls-closed"}': 0,
			'mediasoup_watchdog_detection_latency_seconds_count{reason="dtls-failed"}': 0,
			'mediasoup_watchdog_detection_latency_seconds_count{reason="ice-disconnected"}': 0,
			'mediasoup_watchdog_detection_latency_seconds_count{reason="inactive"}': 0,
			'mediasoup_watchdog_detection_latency_seconds_count{reason="restart-timeout"}': 1,
			'mediasoup_watchdog_detection_latency_seconds_count{reason="signaling-closed"}': 0,
			'mediasoup_watchdog_detection_latency_seconds_count{reason="signaling-lost"}': 0,
		});
		for (const state of ['connecting', 'connected', 'disconnected', 'restarting']) {
			expect(sample(scrape, `mediasoup_watchdog_transports{state="${state}"}`)).toBe(0);
		}
		expect(sample(scrape, 'mediasoup_watchdog_users')).toBe(0);
		expect(sample(scrape, 'mediasoup_watchdog_time_to_connect_seconds_count')).toBe(1);

		// The counters agree with snapshot(), count for count.
		const snap = watchdog.snapshot();
		expect(snap.closes).toEqual({ 'connect-timeout': 1, 'restart-timeout': 1 });
		expect(snap.restarts).toEqual({ granted: 1, denied: { 'never-connected': 1, 'rate-limited': 1 } });

		exporter.unregister();
		expect(await registry.getMetricsAsJSON()).toEqual([]);
		expect(watchdog.observer.listenerCount()).toBe(listenersBefore);
	});

	it('exports the liveness scheduler as snapshot() reports it: polled, slow-cadence and echo transports, a stalled and an unjudged one, stats errors', async () => {
		const { router } = sfu;
		const pollIntervalMs = 500;
		watchdog = createWatchdog({ liveness: { pollIntervalMs } }); // inactivityTimeoutMs: 8 s
		const timeoutMs = watchdog.policy.inactivityTimeoutMs;
		const registry = new Registry();
		const exporter = registerPrometheusMetrics(watchdog, { registry });

		// Two real DataChannel-only clients (werift: one consent check every 4–6 s, no RTP), spawned
		// before their transports are watched (the spawn is the harness's cost, not the client's).
		const peers = await Promise.all([spawnWeriftClient(), spawnWeriftClient()]);
		const quiet = await createTestTransport(router, { enableSctp: true, appData: { userId: 'alice' } });
		const faulty = await createTestTransport(router, { enableSctp: true, appData: { userId: 'bob' } });
		// The faulty one's worker requests: the first fails, the next hangs until released, then
		// each answers without stats (no bytesReceived: it cannot be judged).
		let failures = 1;
		let release: (() => void) | undefined;
		let blank = false;
		faulty.getStats = () => {
			if (failures-- > 0) return Promise.reject(new Error('injected: Channel request timeout'));
			if (blank) return Promise.resolve([]);
			return new Promise((resolve) => {
				release = () => resolve([]);
			});
		};
		const watches = [watchdog.watch(quiet), watchdog.watch(faulty)];
		const clients = await Promise.all([
			peers[0].connect({ transport: quiet, echo: false }),
			peers[1].connect({ transport: faulty, echo: false }),
		]);
		await Promise.all(clients.map((client) => client.waitForConnected()));
		expect(watches.map((watch) => watch.state)).toEqual(['connected', 'connected']);

		// Until the quiet client has shown a consent gap longer than a third of the timeout (it is then
		// judged with 3× that gap), and the hung request is older than the stats timeout.
		const liveness = (): WatchdogSnapshot['liveness'] => watchdog?.snapshot().liveness ?? expect.fail('no watchdog');
		const deadline = Date.now() + 30_000;
		while (!(liveness().slowCadence === 1 && liveness().stalled === 1)) {
			if (Date.now() > deadline) expect.fail(`liveness never settled: ${JSON.stringify(liveness())}`);
			await new Promise((resolve) => setTimeout(resolve, 100));
		}

		let scrape = samples(await registry.metrics());
		let snap = liveness();
		expect(snap).toEqual({
			tracked: 2,
			requestsPerSecond: 2 / (pollIntervalMs / 1_000),
			pollIntervalMs,
			// the timeout plus one poll period (the deciding poll comes when the bound ends)
			detectionBoundMs: Math.max(timeoutMs, pollIntervalMs) + pollIntervalMs,
			slowCadence: 1, // the quiet client
			echo: 1, // the quiet client: it never carried RTP; the faulty one never gave a sample
			unjudged: 0,
			stalled: 1, // the faulty one's hung request
			statsErrors: 1, // its failed one
			// One lane: both transports are on the one worker (their channel), whose pid no watch was given.
			workers: [
				{
					tracked: 2,
					requestsPerSecond: 2 / (pollIntervalMs / 1_000),
					pollIntervalMs,
					detectionBoundMs: Math.max(timeoutMs, pollIntervalMs) + pollIntervalMs,
					slowCadence: 1,
					echo: 1,
					unjudged: 0,
					stalled: 1,
					statsErrors: 1,
					pid: null,
					hinted: 0,
					// No silence of these live clients came near their bound (15 s and more, polled every 0.5 s).
					hints: { 'producer-score': 0, sibling: 0, silence: 0 },
					hintPolls: 0,
				},
			],
		});
		expect(livenessSeries(scrape)).toEqual(exported(snap));

		// The hung request answers, without stats: no longer stalled, not judgeable.
		blank = true;
		release?.();
		while (liveness().unjudged !== 1) {
			if (Date.now() > deadline) expect.fail(`never unjudged: ${JSON.stringify(liveness())}`);
			await new Promise((resolve) => setTimeout(resolve, 50));
		}
		scrape = samples(await registry.metrics());
		snap = liveness();
		expect(snap).toMatchObject({ tracked: 2, slowCadence: 1, echo: 1, unjudged: 1, stalled: 0, statsErrors: 1 });
		expect(livenessSeries(scrape)).toEqual(exported(snap));
		expect(watches.map((watch) => watch.state)).toEqual(['connected', 'connected']);

		// Both watches end: nothing is polled, and the error counter keeps its count.
		for (const watch of watches) watch.close();
		scrape = samples(await registry.metrics());
		expect(livenessSeries(scrape)).toEqual(exported(liveness()));
		expect(livenessSeries(scrape)).toMatchObject({
			polled_transports: 0,
			stats_requests_per_second: 0,
			slow_cadence_transports: 0,
			echo_transports: 0,
			unjudged_transports: 0,
			stalled_transports: 0,
			stats_errors_total: 1,
		});

		exporter.unregister();
		expect(await registry.getMetricsAsJSON()).toEqual([]);
	});
});

/** The liveness series of a scrape, by name without the prefix. */
function livenessSeries(scrape: Map<string, number>): Record<string, number> {
	const prefix = 'mediasoup_watchdog_liveness_';
	return Object.fromEntries(
		[...scrape].filter(([series]) => series.startsWith(prefix)).map(([series, value]) => [series.slice(prefix.length), value]),
	);
}

/** What the liveness series must read for one watchdog's snapshot (durations in seconds). */
function exported(liveness: WatchdogSnapshot['liveness']): Record<string, number> {
	return {
		polled_transports: liveness.tracked,
		stats_requests_per_second: liveness.requestsPerSecond,
		poll_interval_seconds: liveness.pollIntervalMs / 1_000,
		detection_bound_seconds: liveness.detectionBoundMs / 1_000,
		slow_cadence_transports: liveness.slowCadence,
		echo_transports: liveness.echo,
		unjudged_transports: liveness.unjudged,
		stalled_transports: liveness.stalled,
		stats_errors_total: liveness.statsErrors,
		...Object.fromEntries(
			liveness.workers.flatMap((w) => {
				const label = `{worker="${w.pid ?? 'shared'}"}`;
				return [
					[`worker_polled_transports${label}`, w.tracked],
					[`worker_stats_requests_per_second${label}`, w.requestsPerSecond],
					[`worker_detection_bound_seconds${label}`, w.detectionBoundMs / 1_000],
				];
			}),
		),
	};
}
