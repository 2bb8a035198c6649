// registerPrometheusMetrics(): what it registers on a real prom-client Registry, how it names
// metrics, what it refuses, and that unregister() leaves the registry and the watchdog as they
// were. Fake transports here; test/integration/prometheus.test.ts drives a real worker.
import { type OpenMetricsContentType, Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { registerPrometheusMetrics } from '../../src/adapters/prometheus.js';
import { isWatchdogError } from '../../src/errors.js';
import type { Watchdog } from '../../src/index.js';
import { CLOSE_REASONS } from '../../src/reasons.js';
import { createWatchdog } from '../../src/watchdog.js';
import { createFakeTransport, type FakeWebRtcTransport } from '../helpers/fake-transport.js';
import { samples } from '../helpers/prometheus-samples.js';

const watchdogs: Watchdog[] = [];
afterEach(() => {
	for (const watchdog of watchdogs.splice(0)) watchdog.stop();
});

function newWatchdog(): Watchdog {
	const watchdog = createWatchdog({ inactivityTimeoutMs: Number.POSITIVE_INFINITY, maxPendingPerUser: Number.POSITIVE_INFINITY });
	watchdogs.push(watchdog);
	return watchdog;
}

function transportOf(userId: string): FakeWebRtcTransport<{ userId: string }> {
	return createFakeTransport({ appData: { userId } }).transport;
}

const NAMES = [
	'mediasoup_watchdog_transports',
	'mediasoup_watchdog_transport_closes_total',
	'mediasoup_watchdog_ice_restarts_total',
	'mediasoup_watchdog_time_to_connect_seconds',
	'mediasoup_watchdog_detection_latency_seconds',
	'mediasoup_watchdog_users',
	'mediasoup_watchdog_liveness_polled_transports',
	'mediasoup_watchdog_liveness_stats_requests_per_second',
	'mediasoup_watchdog_liveness_poll_interval_seconds',
	'mediasoup_watchdog_liveness_detection_bound_seconds',
	'mediasoup_watchdog_liveness_slow_cadence_transports',
	'mediasoup_watchdog_liveness_echo_transports',
	'mediasoup_watchdog_liveness_unjudged_transports',
	'mediasoup_watchdog_liveness_stalled_transports',
	'mediasoup_watchdog_liveness_stats_errors_total',
	'mediasoup_watchdog_listener_errors_total',
	'mediasoup_watchdog_store_errors_total',
	'mediasoup_watchdog_liveness_worker_polled_transports',
	'mediasoup_watchdog_liveness_worker_stats_requests_per_second',
	'mediasoup_watchdog_liveness_worker_detection_bound_seconds',
	'mediasoup_watchdog_port_range_ports',
	'mediasoup_watchdog_port_range_taken_ports',
	'mediasoup_watchdog_port_range_usage_ratio',
	'mediasoup_watchdog_port_range_transports',
	'mediasoup_watchdog_webrtc_server_transports',
];

describe('registerPrometheusMetrics()', () => {
	it('registers every metric with Prometheus names, each counter series at 0 before anything happened', async () => {
		const registry = new Registry();
		const metrics = registerPrometheusMetrics(newWatchdog(), { registry });
		expect(metrics.names).toEqual(NAMES);
		expect((await registry.getMetricsAsJSON()).map((m) => [m.name, m.type])).toEqual([
			['mediasoup_watchdog_transports', 'gauge'],
			['mediasoup_watchdog_transport_closes_total', 'counter'],
			['mediasoup_watchdog_ice_restarts_total', 'counter'],
			['mediasoup_watchdog_time_to_connect_seconds', 'histogram'],
			['mediasoup_watchdog_detection_latency_seconds', 'histogram'],
			['mediasoup_watchdog_users', 'gauge'],
			['mediasoup_watchdog_liveness_polled_transports', 'gauge'],
			['mediasoup_watchdog_liveness_stats_requests_per_second', 'gauge'],
			['mediasoup_watchdog_liveness_poll_interval_seconds', 'gauge'],
			['mediasoup_watchdog_liveness_detection_bound_seconds', 'gauge'],
			['mediasoup_watchdog_liveness_slow_cadence_transports', 'gauge'],
			['mediasoup_watchdog_liveness_echo_transports', 'gauge'],
			['mediasoup_watchdog_liveness_unjudged_transports', 'gauge'],
			['mediasoup_watchdog_liveness_stalled_transports', 'gauge'],
			['mediasoup_watchdog_liveness_stats_errors_total', 'counter'],
			['mediasoup_watchdog_listener_errors_total', 'counter'],
			['mediasoup_watchdog_store_errors_total', 'counter'],
			['mediasoup_watchdog_liveness_worker_polled_transports', 'gauge'],
			['mediasoup_watchdog_liveness_worker_stats_requests_per_second', 'gauge'],
			['mediasoup_watchdog_liveness_worker_detection_bound_seconds', 'gauge'],
			['mediasoup_watchdog_port_range_ports', 'gauge'],
			['mediasoup_watchdog_port_range_taken_ports', 'gauge'],
			['mediasoup_watchdog_port_range_usage_ratio', 'gauge'],
			['mediasoup_watchdog_port_range_transports', 'gauge'],
			['mediasoup_watchdog_webrtc_server_transports', 'gauge'],
		]);
		const scrape = samples(await registry.metrics());
		expect(scrape.get('mediasoup_watchdog_transport_closes_total{reason="connect-timeout"}')).toBe(0);
		expect(scrape.get('mediasoup_watchdog_transport_closes_total{reason="stopped"}')).toBeUndefined();
		expect([...scrape.keys()].filter((k) => k.startsWith('mediasoup_watchdog_transport_closes_total'))).toHaveLength(
			CLOSE_REASONS.length - 1,
		);
		expect(scrape.get('mediasoup_watchdog_ice_restarts_total{outcome="granted"}')).toBe(0);
		for (const reason of ['never-connected', 'rate-limited', 'closed', 'store-unavailable', 'storm']) {
			expect(scrape.get(`mediasoup_watchdog_ice_restarts_total{outcome="denied",reason="${reason}"}`)).toBe(0);
		}
		expect(scrape.get('mediasoup_watchdog_transports{state="connecting"}')).toBe(0);
		expect(scrape.get('mediasoup_watchdog_time_to_connect_seconds_count')).toBe(0);
		// Every reason that measures a detection time has its series at 0, so rate() sees its first close.
		const detectionCounts = [...scrape]
			.filter(([k]) => k.startsWith('mediasoup_watchdog_detection_latency_seconds_count'))
			.map(([k, v]) => [k.replace(/.*reason="([^"]+)".*/, '$1'), v]);
		expect(Object.fromEntries(detectionCounts)).toEqual({
			'dtls-closed': 0,
			'dtls-failed': 0,
			'ice-disconnected': 0,
			inactive: 0,
			'restart-timeout': 0,
			'signaling-closed': 0,
			'signaling-lost': 0,
		});
		expect(scrape.get('mediasoup_watchdog_store_errors_total{operation="announceTakeover"}')).toBe(0);
		expect(scrape.get('mediasoup_watchdog_store_errors_total{operation="subscribeTakeover"}')).toBe(0);
		metrics.unregister();
	});

	it("exports each worker's liveness lane (label worker: pid, or shared), summed or maxed over watchdogs like snapshot().liveness.workers", async () => {
		// liveness on (newWatchdog() turns it off): each watchdog polls its connected transports
		const [one, two] = [0, 1].map(() => createWatchdog({ maxPendingPerUser: Number.POSITIVE_INFINITY })) as [Watchdog, Watchdog];
		watchdogs.push(one, two);
		for (const [watchdog, userId] of [
			[one, 'a'],
			[two, 'b'],
			[two, 'c'],
		] as const) {
			const transport = transportOf(userId);
			watchdog.watch(transport);
			transport.connectClient();
		}
		const registry = new Registry();
		const metrics = registerPrometheusMetrics([one, two], { registry });
		const scrape = samples(await registry.metrics());
		const lanes = [...one.snapshot().liveness.workers, ...two.snapshot().liveness.workers];
		expect(lanes.map((w) => w.pid)).toEqual([null, null]);
		expect(scrape.get('mediasoup_watchdog_liveness_worker_polled_transports{worker="shared"}')).toBe(3);
		expect(scrape.get('mediasoup_watchdog_liveness_worker_stats_requests_per_second{worker="shared"}')).toBeCloseTo(
			lanes.reduce((total, w) => total + w.requestsPerSecond, 0),
			9,
		);
		expect(scrape.get('mediasoup_watchdog_liveness_worker_detection_bound_seconds{worker="shared"}')).toBe(
			Math.max(...lanes.map((w) => w.detectionBoundMs)) / 1_000,
		);
		metrics.unregister();
	});

	it("counts the takeover channel's failures by operation (the observer's storeerror)", async () => {
		const failing = {
			announce: async () => {
				throw new Error('redis down');
			},
			subscribe: () => () => {},
		};
		const watchdog = createWatchdog({ takeover: failing });
		watchdogs.push(watchdog);
		const registry = new Registry();
		const metrics = registerPrometheusMetrics(watchdog, { registry });
		watchdog.bindSession('alice', new AbortController().signal);
		watchdog.bindSession('bob', new AbortController().signal);
		await new Promise((resolve) => setImmediate(resolve));
		const scrape = samples(await registry.metrics());
		expect(scrape.get('mediasoup_watchdog_store_errors_total{operation="announceTakeover"}')).toBe(2);
		expect(scrape.get('mediasoup_watchdog_store_errors_total{operation="subscribeTakeover"}')).toBe(0);
		metrics.unregister();
	});

	it('counts from the watchdog totals when registered late, then follows the observer', async () => {
		const watchdog = newWatchdog();
		const early = transportOf('alice');
		watchdog.watch(early).close();
		const registry = new Registry();
		const metrics = registerPrometheusMetrics(watchdog, { registry });
		const late = transportOf('bob');
		const watch = watchdog.watch(late);
		late.connectClient();
		late.clientCloseNotify();
		const scrape = samples(await registry.metrics());
		expect(scrape.get('mediasoup_watchdog_transport_closes_total{reason="app"}')).toBe(1);
		expect(scrape.get('mediasoup_watchdog_transport_closes_total{reason="dtls-closed"}')).toBe(1);
		expect(scrape.get('mediasoup_watchdog_time_to_connect_seconds_count')).toBe(1);
		expect(scrape.get('mediasoup_watchdog_detection_latency_seconds_count{reason="dtls-closed"}')).toBe(1);
		expect(scrape.get('mediasoup_watchdog_detection_latency_seconds_sum{reason="dtls-closed"}')).toBe(0);
		expect(watch.state).toBe('closed');
		metrics.unregister();
	});

	it('reads the state gauge from snapshot() at each scrape and sums several watchdogs', async () => {
		const [one, two] = [newWatchdog(), newWatchdog()];
		const registry = new Registry();
		const metrics = registerPrometheusMetrics([one, two], { registry });
		const a = transportOf('alice');
		one.watch(a);
		two.watch(transportOf('bob'));
		a.connectClient();
		let scrape = samples(await registry.metrics());
		expect(scrape.get('mediasoup_watchdog_transports{state="connecting"}')).toBe(1);
		expect(scrape.get('mediasoup_watchdog_transports{state="connected"}')).toBe(1);
		expect(scrape.get('mediasoup_watchdog_users')).toBe(2);
		expect(scrape.get('mediasoup_watchdog_liveness_poll_interval_seconds')).toBe(one.policy.liveness.pollIntervalMs / 1_000);
		a.emitIceState('disconnected');
		scrape = samples(await registry.metrics());
		expect(scrape.get('mediasoup_watchdog_transports{state="connected"}')).toBe(0);
		expect(scrape.get('mediasoup_watchdog_transports{state="disconnected"}')).toBe(1);
		metrics.unregister();
	});

	it('unregister() removes every metric and listener, is idempotent, and lets a new exporter register', async () => {
		const watchdog = newWatchdog();
		const registry = new Registry();
		const listenersBefore = watchdog.observer.listenerCount();
		const metrics = registerPrometheusMetrics(watchdog, { registry });
		expect(watchdog.observer.listenerCount()).toBeGreaterThan(listenersBefore);
		metrics.unregister();
		metrics.unregister();
		expect(await registry.getMetricsAsJSON()).toEqual([]);
		expect(await registry.metrics()).toBe('\n');
		expect(watchdog.observer.listenerCount()).toBe(listenersBefore);

		using again = registerPrometheusMetrics(watchdog, { registry });
		expect(again.names).toEqual(NAMES);
	});

	it('leaves alone a metric someone else registered under one of its names after it', async () => {
		const registry = new Registry();
		const metrics = registerPrometheusMetrics(newWatchdog(), { registry });
		registry.removeSingleMetric('mediasoup_watchdog_users');
		const { Gauge } = await import('prom-client');
		const theirs = new Gauge({ name: 'mediasoup_watchdog_users', help: 'theirs', registers: [registry] });
		metrics.unregister();
		expect(registry.getSingleMetric('mediasoup_watchdog_users')).toBe(theirs);
		expect((await registry.getMetricsAsJSON()).map((m) => m.name)).toEqual(['mediasoup_watchdog_users']);
	});

	it('refuses to register over existing metrics and registers nothing then', async () => {
		const watchdog = newWatchdog();
		const registry = new Registry();
		const first = registerPrometheusMetrics(watchdog, { registry });
		const error = (() => {
			try {
				registerPrometheusMetrics(watchdog, { registry });
			} catch (caught) {
				return caught;
			}
			throw new Error('did not throw');
		})();
		expect(isWatchdogError(error)).toBe(true);
		expect((error as Error).message).toMatch(/already registered \[names:mediasoup_watchdog_transports,/);
		first.unregister();
		expect(await registry.getMetricsAsJSON()).toEqual([]);

		const other = new Registry();
		const prefixed = registerPrometheusMetrics(watchdog, { registry: other, prefix: 'sfu_' });
		expect(prefixed.names[1]).toBe('sfu_transport_closes_total');
		prefixed.unregister();
	});

	it('lets prom-client add _total itself on an OpenMetrics registry', async () => {
		const registry = new Registry<OpenMetricsContentType>();
		registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
		const metrics = registerPrometheusMetrics(newWatchdog(), { registry });
		const text = await registry.metrics();
		expect(text).toContain('# TYPE mediasoup_watchdog_transport_closes counter');
		expect(text).toContain('mediasoup_watchdog_transport_closes_total{reason="app"} 0');
		expect(text).not.toContain('_total_total');
		metrics.unregister();
	});

	it('refuses bad arguments with a TypeError naming the argument', () => {
		const watchdog = newWatchdog();
		const registry = new Registry();
		const call = (w: unknown, options: unknown) => () =>
			registerPrometheusMetrics(w as Watchdog, options as Parameters<typeof registerPrometheusMetrics>[1]);
		expect(call({}, { registry })).toThrow(/`watchdogs` must be a watchdog/);
		expect(call([], { registry })).toThrow(/non-empty list/);
		expect(call(watchdog, undefined)).toThrow(/`options` must be an object/);
		expect(call(watchdog, { registry: {} })).toThrow(/`registry` must be a prom-client Registry/);
		expect(call(watchdog, { registry, prefix: 'bad-prefix' })).toThrow(/`prefix` must match/);
		expect(call(watchdog, { registry, buckets: { detectionSeconds: [1, 1] } })).toThrow(
			/`buckets.detectionSeconds` must be a non-empty, strictly increasing list/,
		);
		using valid = registerPrometheusMetrics(watchdog, { registry });
		expect(valid.names).toHaveLength(NAMES.length);
	});
});
