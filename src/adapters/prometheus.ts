// `mediasoup-watchdog/prometheus`: exports a watchdog's counts to the prom-client registry the
// application passes. prom-client is an optional peer dependency; the core entry never imports
// this file.

import type { Registry } from 'prom-client';
import { Counter, Gauge, Histogram } from 'prom-client';
import { describeKind, describeValue } from '../checks.js';
import { WatchdogError } from '../errors.js';
import { Logger } from '../logger.js';
import { CLOSE_REASONS, type CloseReason, ICE_RESTART_DENIAL_REASONS, type IceRestartDenialReason } from '../reasons.js';
import type { Watchdog, WatchdogObserverEvents, WatchdogSnapshot, WorkerLivenessSnapshot } from '../types.js';

const logger = new Logger('Prometheus');

/** Default prefix of every metric name. */
export const DEFAULT_PROMETHEUS_PREFIX = 'mediasoup_watchdog_';

/** Default buckets of `…_time_to_connect_seconds` (a connect deadline is 15 s by default). */
export const DEFAULT_TIME_TO_CONNECT_BUCKETS: readonly number[] = Object.freeze([0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 15, 30]);

/** Default buckets of `…_detection_latency_seconds` (grace and inactivity bounds are 10–20 s by default). */
export const DEFAULT_DETECTION_BUCKETS: readonly number[] = Object.freeze([0.1, 0.5, 1, 2.5, 5, 10, 15, 20, 30, 60, 120]);

/** Every close reason except `stopped` (a stop is not a close), so each series exists from the first scrape. */
const CLOSES = CLOSE_REASONS.filter((reason): reason is Exclude<CloseReason, 'stopped'> => reason !== 'stopped');

/** The close reasons that measure a detection time (the others close with detectionMs null). */
const MEASURED_DETECTION_REASONS = [
	'dtls-closed',
	'dtls-failed',
	'ice-disconnected',
	'inactive',
	'restart-timeout',
	'signaling-closed',
	'signaling-lost',
] as const satisfies ReadonlyArray<CloseReason>;

const ACTIVE_STATES = ['connecting', 'connected', 'disconnected', 'restarting'] as const satisfies ReadonlyArray<
	keyof WatchdogSnapshot['transports']
>;

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

/** The part of a prom-client `Registry` the exporter uses (any prom-client >= 14 copy fits). */
export type PrometheusRegistryLike = Pick<Registry, 'registerMetric' | 'removeSingleMetric' | 'getSingleMetric'> & {
	readonly contentType?: string;
};

/** Options of `registerPrometheusMetrics()`. */
export interface PrometheusMetricsOptions {
	/**
	 * The prom-client `Registry` to register on (the exporter never uses prom-client's global
	 * registry on its own).
	 * @example new Registry() or `register` from prom-client
	 */
	readonly registry: PrometheusRegistryLike;
	/**
	 * Prepended to every metric name.
	 * @default 'mediasoup_watchdog_'
	 * @example 'sfu_eu1_watchdog_'
	 */
	readonly prefix?: string;
	/** Histogram buckets, in seconds. */
	readonly buckets?: {
		/** @default DEFAULT_TIME_TO_CONNECT_BUCKETS */
		readonly timeToConnectSeconds?: readonly number[];
		/** @default DEFAULT_DETECTION_BUCKETS */
		readonly detectionSeconds?: readonly number[];
	};
}

/** What `registerPrometheusMetrics()` returns. */
export interface PrometheusMetrics extends Disposable {
	/** The names of the registered metrics. */
	readonly names: readonly string[];
	/** Removes the metrics from the registry and stops listening to the watchdogs. Idempotent. */
	unregister(): void;
}

/**
 * Registers a watchdog's metrics on the prom-client registry you pass:
 *
 * | metric | type | labels |
 * |---|---|---|
 * | `mediasoup_watchdog_transports` | gauge | `state` (connecting, connected, disconnected, restarting) |
 * | `mediasoup_watchdog_transport_closes_total` | counter | `reason` |
 * | `mediasoup_watchdog_ice_restarts_total` | counter | `outcome` (granted, denied), `reason` (denied only) |
 * | `mediasoup_watchdog_time_to_connect_seconds` | histogram | — |
 * | `mediasoup_watchdog_detection_latency_seconds` | histogram | `reason` |
 * | `mediasoup_watchdog_users` | gauge | — |
 * | `mediasoup_watchdog_liveness_polled_transports` | gauge | — |
 * | `mediasoup_watchdog_liveness_stats_requests_per_second` | gauge | — |
 * | `mediasoup_watchdog_liveness_poll_interval_seconds` | gauge | — |
 * | `mediasoup_watchdog_liveness_detection_bound_seconds` | gauge | — |
 * | `mediasoup_watchdog_liveness_slow_cadence_transports` | gauge | — |
 * | `mediasoup_watchdog_liveness_echo_transports` | gauge | — |
 * | `mediasoup_watchdog_liveness_unjudged_transports` | gauge | — |
 * | `mediasoup_watchdog_liveness_stalled_transports` | gauge | — |
 * | `mediasoup_watchdog_liveness_stats_errors_total` | counter | — |
 * | `mediasoup_watchdog_listener_errors_total` | counter | `source` (watch, observer) |
 * | `mediasoup_watchdog_store_errors_total` | counter | `operation` (announceTakeover, subscribeTakeover) |
 * | `mediasoup_watchdog_liveness_worker_polled_transports` | gauge | `worker` (pid, or `shared`) |
 * | `mediasoup_watchdog_liveness_worker_stats_requests_per_second` | gauge | `worker` |
 * | `mediasoup_watchdog_liveness_worker_detection_bound_seconds` | gauge | `worker` |
 * | `mediasoup_watchdog_port_range_ports` | gauge | `worker`, `protocol`, `address`, `range` (`min-max`) |
 * | `mediasoup_watchdog_port_range_taken_ports` | gauge | same |
 * | `mediasoup_watchdog_port_range_usage_ratio` | gauge | same |
 * | `mediasoup_watchdog_port_range_transports` | gauge | same |
 * | `mediasoup_watchdog_webrtc_server_transports` | gauge | `worker`, `server` (its id) |
 *
 * Counters start from the watchdog's totals (`snapshot()`), so they count since the watchdog
 * was created; histograms, `listener_errors_total` and `store_errors_total` count from registration. Gauges (and
 * `liveness_stats_errors_total`) are read from `snapshot()` at each scrape. Pass several
 * watchdogs (e.g. `watchdogFor(policy)` of each policy) to export their sum: counts and request
 * rates add up, poll interval and detection bound take the largest.
 *
 * @throws {TypeError} on a bad argument.
 * @throws {WatchdogError} when a metric of the same name is already registered.
 */
export function registerPrometheusMetrics(
	// biome-ignore lint/suspicious/noExplicitAny: a watchdog of any appData type
	watchdogs: Watchdog<any> | Iterable<Watchdog<any>>,
	options: PrometheusMetricsOptions,
): PrometheusMetrics {
	const list = toWatchdogList(watchdogs);
	if (typeof options !== 'object' || options === null) {
		throw new TypeError(`\`options\` must be an object with a \`registry\`, got ${options === null ? 'null' : typeof options}`);
	}
	const { registry } = options;
	if (!isRegistry(registry)) {
		throw new TypeError(
			`\`registry\` must be a prom-client Registry (with registerMetric, removeSingleMetric and getSingleMetric), got ${describeKind(registry)}`,
		);
	}
	const prefix = options.prefix ?? DEFAULT_PROMETHEUS_PREFIX;
	if (typeof prefix !== 'string' || (prefix !== '' && !METRIC_NAME.test(prefix))) {
		throw new TypeError(`\`prefix\` must match ${METRIC_NAME} (or be empty), got ${describeValue(prefix)}`);
	}
	const timeToConnectBuckets = checkBuckets(
		'buckets.timeToConnectSeconds',
		options.buckets?.timeToConnectSeconds ?? DEFAULT_TIME_TO_CONNECT_BUCKETS,
	);
	const detectionBuckets = checkBuckets(
		'buckets.detectionSeconds',
		options.buckets?.detectionSeconds ?? DEFAULT_DETECTION_BUCKETS,
	);
	// With OpenMetrics output prom-client appends `_total` to counters itself.
	const total = registry.contentType?.startsWith('application/openmetrics-text') ? '' : '_total';

	const snapshot = (): WatchdogSnapshot[] => list.map((watchdog) => watchdog.snapshot());
	const metric = { registers: [] as Registry[] };

	const transports = new Gauge({
		...metric,
		name: `${prefix}transports`,
		help: 'Watched transports by state.',
		labelNames: ['state'] as const,
		collect() {
			const snaps = snapshot();
			for (const state of ACTIVE_STATES)
				this.set(
					{ state },
					sum(snaps, (s) => s.transports[state]),
				);
		},
	});
	const closes = new Counter({
		...metric,
		name: `${prefix}transport_closes${total}`,
		help: 'Watches ended by a close, by reason.',
		labelNames: ['reason'] as const,
	});
	const restarts = new Counter({
		...metric,
		name: `${prefix}ice_restarts${total}`,
		help: 'ICE restart decisions, by outcome and (for denials) reason.',
		labelNames: ['outcome', 'reason'] as const,
	});
	const timeToConnect = new Histogram({
		...metric,
		name: `${prefix}time_to_connect_seconds`,
		help: 'Time from the start of a watch to the first DTLS connected.',
		buckets: [...timeToConnectBuckets],
	});
	const detection = new Histogram({
		...metric,
		name: `${prefix}detection_latency_seconds`,
		help: 'Time from the last sign of life (inbound activity, ICE loss, session end) to the close decision, by reason.',
		labelNames: ['reason'] as const,
		buckets: [...detectionBuckets],
	});
	/** A gauge read from every watchdog's snapshot at each scrape. */
	const snapshotGauge = (name: string, help: string, read: (snaps: WatchdogSnapshot[]) => number): Gauge =>
		new Gauge({
			...metric,
			name: `${prefix}${name}`,
			help,
			collect() {
				this.set(read(snapshot()));
			},
		});
	const users = snapshotGauge('users', 'Users with at least one watched transport.', (snaps) => sum(snaps, (s) => s.users));
	const polled = snapshotGauge(
		'liveness_polled_transports',
		'Connected transports whose stats the liveness scheduler polls (summed over watchdogs).',
		(snaps) => sum(snaps, (s) => s.liveness.tracked),
	);
	const requestRate = snapshotGauge(
		'liveness_stats_requests_per_second',
		'getStats() requests per second the liveness scheduler currently sends to mediasoup (summed over watchdogs).',
		(snaps) => sum(snaps, (s) => s.liveness.requestsPerSecond),
	);
	const pollInterval = snapshotGauge(
		'liveness_poll_interval_seconds',
		'Time between two stats polls of one transport at the current load (the largest over watchdogs).',
		(snaps) => max(snaps, (s) => s.liveness.pollIntervalMs) / 1_000,
	);
	const detectionBound = snapshotGauge(
		'liveness_detection_bound_seconds',
		'Worst-case time from a client vanishing to an inactive close at the current load, +Inf with liveness off (the largest over watchdogs).',
		(snaps) => max(snaps, (s) => s.liveness.detectionBoundMs) / 1_000,
	);
	// One gauge each, not one gauge with a `kind` label: a transport can be in several (a
	// DataChannel-only client is both `echo` and, at a 5 s consent cadence, `slow_cadence`), so a
	// sum over such a label would mean nothing.
	const slowCadence = snapshotGauge(
		'liveness_slow_cadence_transports',
		'Polled transports judged with a bound longer than inactivityTimeoutMs, their client being naturally quieter (summed over watchdogs).',
		(snaps) => sum(snaps, (s) => s.liveness.slowCadence),
	);
	const echo = snapshotGauge(
		'liveness_echo_transports',
		"Polled transports that never carried RTP, kept alive by the worker's consent replies too (summed over watchdogs).",
		(snaps) => sum(snaps, (s) => s.liveness.echo),
	);
	const unjudged = snapshotGauge(
		'liveness_unjudged_transports',
		'Polled transports silent past their bound that cannot be judged right now, left open (summed over watchdogs).',
		(snaps) => sum(snaps, (s) => s.liveness.unjudged),
	);
	const stalled = snapshotGauge(
		'liveness_stalled_transports',
		'Polled transports whose last getStats()/dump() has not answered within 5 s (summed over watchdogs).',
		(snaps) => sum(snaps, (s) => s.liveness.stalled),
	);
	/** A gauge per mediasoup worker (label `worker`: its pid, or `shared` for the one lane of watches whose worker is unknown). */
	const workerGauge = (name: string, help: string, read: (w: WorkerLivenessSnapshot) => number, add: boolean): Gauge =>
		new Gauge({
			...metric,
			name: `${prefix}${name}`,
			help,
			labelNames: ['worker'] as const,
			collect() {
				this.reset();
				const byWorker = new Map<string, number>();
				for (const snap of snapshot()) {
					for (const w of snap.liveness.workers) {
						const worker = workerLabel(w.pid);
						const seen = byWorker.get(worker);
						byWorker.set(worker, seen === undefined ? read(w) : add ? seen + read(w) : Math.max(seen, read(w)));
					}
				}
				for (const [worker, value] of byWorker) this.set({ worker }, value);
			},
		});
	const workerPolled = workerGauge(
		'liveness_worker_polled_transports',
		"Transports polled on each mediasoup worker's lane (summed over watchdogs).",
		(w) => w.tracked,
		true,
	);
	const workerRequestRate = workerGauge(
		'liveness_worker_stats_requests_per_second',
		'getStats() requests per second sent to each mediasoup worker (summed over watchdogs).',
		(w) => w.requestsPerSecond,
		true,
	);
	const workerDetectionBound = workerGauge(
		'liveness_worker_detection_bound_seconds',
		"Worst-case time from a client vanishing to an inactive close on each worker's lane (the largest over watchdogs).",
		(w) => w.detectionBoundMs / 1_000,
		false,
	);
	/** A gauge per port range of the budget (`snapshot().ports.ranges`), summed over watchdogs. */
	const rangeGauge = (name: string, help: string, read: (taken: number, transports: number, size: number) => number): Gauge =>
		new Gauge({
			...metric,
			name: `${prefix}${name}`,
			help,
			labelNames: ['worker', 'protocol', 'address', 'range'] as const,
			collect() {
				this.reset();
				const byRange = new Map<string, { labels: Record<string, string>; taken: number; transports: number; size: number }>();
				for (const snap of snapshot()) {
					for (const r of snap.ports.ranges) {
						const labels = { worker: workerLabel(r.pid), protocol: r.protocol, address: r.address, range: `${r.min}-${r.max}` };
						const key = Object.values(labels).join('|');
						const seen = byRange.get(key) ?? { labels, taken: 0, transports: 0, size: r.size };
						seen.taken += r.taken;
						seen.transports += r.transports;
						byRange.set(key, seen);
					}
				}
				for (const { labels, taken, transports, size } of byRange.values()) this.set(labels, read(taken, transports, size));
			},
		});
	const portRangeSize = rangeGauge(
		'port_range_ports',
		'Ports in a configured range (worker rtcMinPort–rtcMaxPort, or a listen info portRange) that watched transports take ports from.',
		(_taken, _transports, size) => size,
	);
	const portRangeTaken = rangeGauge(
		'port_range_taken_ports',
		'Distinct ports of the range held by watched transports (summed over watchdogs).',
		(taken) => taken,
	);
	const portRangeUsage = rangeGauge(
		'port_range_usage_ratio',
		'Share of the range held by watched transports, 0–1: taken ports / ports in the range.',
		(taken, _transports, size) => taken / size,
	);
	const portRangeTransports = rangeGauge(
		'port_range_transports',
		'Watched transports holding a port of the range (summed over watchdogs).',
		(_taken, transports) => transports,
	);
	const webRtcServerTransports = new Gauge({
		...metric,
		name: `${prefix}webrtc_server_transports`,
		help: 'Watched transports on each WebRtcServer (they share its ports and take none of their own; summed over watchdogs).',
		labelNames: ['worker', 'server'] as const,
		collect() {
			this.reset();
			for (const snap of snapshot()) {
				for (const s of snap.ports.webRtcServers) this.inc({ worker: workerLabel(s.pid), server: s.id }, s.transports);
			}
		},
	});
	// statsErrors only grows: a counter, read at scrape and advanced by the difference.
	let statsErrorsSeen = 0;
	const statsErrors = new Counter({
		...metric,
		name: `${prefix}liveness_stats_errors${total}`,
		help: 'getStats()/dump() failures on open transports since the watchdog was created (summed over watchdogs).',
		collect() {
			const now = sum(snapshot(), (s) => s.liveness.statsErrors);
			if (now > statsErrorsSeen) this.inc(now - statsErrorsSeen);
			statsErrorsSeen = Math.max(statsErrorsSeen, now);
		},
	});
	const listenerErrors = new Counter({
		...metric,
		name: `${prefix}listener_errors${total}`,
		help: 'Listeners that threw, since registration: source="watch" for the app\'s listeners on a watch, source="observer" for observer listeners (summed over watchdogs).',
		labelNames: ['source'] as const,
	});
	const storeErrors = new Counter({
		...metric,
		name: `${prefix}store_errors${total}`,
		help: "Failures of the store's takeover channel, by operation (announceTakeover, subscribeTakeover); nothing was closed.",
		labelNames: ['operation'] as const,
	});

	const metrics = [
		transports,
		closes,
		restarts,
		timeToConnect,
		detection,
		users,
		polled,
		requestRate,
		pollInterval,
		detectionBound,
		slowCadence,
		echo,
		unjudged,
		stalled,
		statsErrors,
		listenerErrors,
		storeErrors,
		workerPolled,
		workerRequestRate,
		workerDetectionBound,
		portRangeSize,
		portRangeTaken,
		portRangeUsage,
		portRangeTransports,
		webRtcServerTransports,
	] as const;
	const names = metrics.map((m) => (m as unknown as { name: string }).name);
	const taken = names.filter((name) => registry.getSingleMetric(name) !== undefined);
	if (taken.length > 0) {
		throw new WatchdogError(
			`registerPrometheusMetrics() metrics already registered [names:${taken.join(',')}]: unregister() the previous exporter or pass another \`prefix\``,
		);
	}

	// Counters continue the watchdogs' totals; every known label value exists from the start.
	const start = snapshot();
	for (const reason of CLOSES)
		closes.inc(
			{ reason },
			sum(start, (s) => s.closes[reason] ?? 0),
		);
	restarts.inc(
		{ outcome: 'granted' },
		sum(start, (s) => s.restarts.granted),
	);
	const denialReasons = new Set<string>(ICE_RESTART_DENIAL_REASONS);
	for (const s of start) for (const reason of Object.keys(s.restarts.denied)) denialReasons.add(reason);
	for (const reason of denialReasons) {
		restarts.inc(
			{ outcome: 'denied', reason },
			sum(start, (s) => s.restarts.denied[reason as IceRestartDenialReason] ?? 0),
		);
	}

	// The reasons whose closes measure a detection time (docs/observability.md) have their series from
	// the start, so that rate() and histogram_quantile() see the first close of each.
	for (const reason of MEASURED_DETECTION_REASONS) detection.zero({ reason });

	listenerErrors.inc({ source: 'watch' }, 0);
	listenerErrors.inc({ source: 'observer' }, 0);
	storeErrors.inc({ operation: 'announceTakeover' }, 0);
	storeErrors.inc({ operation: 'subscribeTakeover' }, 0);

	const listeners: Partial<{ [K in keyof WatchdogObserverEvents]: (payload: WatchdogObserverEvents[K]) => void }> = {
		connect: ({ timeToConnectMs }) => timeToConnect.observe(timeToConnectMs / 1_000),
		close: ({ reason, detectionMs }) => {
			closes.inc({ reason });
			if (detectionMs !== null) detection.observe({ reason }, detectionMs / 1_000);
		},
		icerestart: (event) => {
			if (event.outcome === 'granted') restarts.inc({ outcome: 'granted' });
			else restarts.inc({ outcome: 'denied', reason: event.reason });
		},
		watchlistenererror: () => listenerErrors.inc({ source: 'watch' }),
		listenererror: () => listenerErrors.inc({ source: 'observer' }),
		storeerror: ({ operation }) => storeErrors.inc({ operation }),
	};

	const registered: string[] = [];
	try {
		for (const m of metrics) {
			registry.registerMetric(m as never);
			registered.push((m as unknown as { name: string }).name);
		}
	} catch (error) {
		for (const name of registered) registry.removeSingleMetric(name);
		throw new WatchdogError(`registerPrometheusMetrics() could not register on the registry: ${String(error)}`, {
			cause: error,
		});
	}
	for (const watchdog of list) subscribe(watchdog, listeners);
	logger.debug('registerPrometheusMetrics() [prefix:%s, watchdogs:%d]', prefix, list.length);

	let active = true;
	const unregister = (): void => {
		if (!active) return;
		active = false;
		for (const watchdog of list) unsubscribe(watchdog, listeners);
		for (const m of metrics) {
			const name = (m as unknown as { name: string }).name;
			// Only remove our own metric: someone may have registered another under the name since.
			if (registry.getSingleMetric(name) === (m as unknown)) registry.removeSingleMetric(name);
		}
		logger.debug('unregister() [prefix:%s]', prefix);
	};
	return Object.freeze({ names: Object.freeze(names), unregister, [Symbol.dispose]: unregister });
}

/* ------------------------------------------------------------------ helpers */

type ObserverListeners = Partial<{ [K in keyof WatchdogObserverEvents]: (payload: WatchdogObserverEvents[K]) => void }>;

function subscribe(watchdog: Watchdog<unknown>, listeners: ObserverListeners): void {
	for (const [event, listener] of Object.entries(listeners)) {
		watchdog.observer.on(event as keyof WatchdogObserverEvents, listener as (payload: unknown) => void);
	}
}

function unsubscribe(watchdog: Watchdog<unknown>, listeners: ObserverListeners): void {
	for (const [event, listener] of Object.entries(listeners)) {
		watchdog.observer.off(event as keyof WatchdogObserverEvents, listener as (payload: unknown) => void);
	}
}

function toWatchdogList(value: unknown): Array<Watchdog<unknown>> {
	const isWatchdog = (w: unknown): w is Watchdog<unknown> =>
		typeof w === 'object' &&
		w !== null &&
		typeof (w as Watchdog<unknown>).snapshot === 'function' &&
		typeof (w as Watchdog<unknown>).observer?.on === 'function';
	if (isWatchdog(value)) return [value];
	if (typeof value === 'object' && value !== null && Symbol.iterator in value) {
		const list = [...new Set(value as Iterable<unknown>)];
		if (list.length > 0 && list.every(isWatchdog)) return list;
	}
	throw new TypeError(
		`\`watchdogs\` must be a watchdog (createWatchdog() / watchdogFor(policy)) or a non-empty list of them, got ${describeKind(value)}`,
	);
}

function isRegistry(value: unknown): value is PrometheusRegistryLike {
	const r = value as Partial<Record<string, unknown>> | null | undefined;
	return (
		typeof r === 'object' &&
		r !== null &&
		typeof r.registerMetric === 'function' &&
		typeof r.removeSingleMetric === 'function' &&
		typeof r.getSingleMetric === 'function'
	);
}

function checkBuckets(option: string, buckets: unknown): readonly number[] {
	const ok =
		Array.isArray(buckets) &&
		buckets.length > 0 &&
		buckets.every((b, i) => typeof b === 'number' && Number.isFinite(b) && b > 0 && (i === 0 || b > buckets[i - 1]));
	if (!ok) {
		throw new TypeError(
			`\`${option}\` must be a non-empty, strictly increasing list of positive seconds, got ${describeValue(buckets)}`,
		);
	}
	return buckets as readonly number[];
}

/** The `worker` label: the worker's pid, or `shared` when the app did not give `{ worker }`. */
function workerLabel(pid: number | null): string {
	return pid === null ? 'shared' : String(pid);
}

function sum(snaps: readonly WatchdogSnapshot[], pick: (s: WatchdogSnapshot) => number): number {
	let total = 0;
	for (const s of snaps) total += pick(s);
	return total;
}

function max(snaps: readonly WatchdogSnapshot[], pick: (s: WatchdogSnapshot) => number): number {
	let worst = 0;
	for (const s of snaps) worst = Math.max(worst, pick(s));
	return worst;
}
