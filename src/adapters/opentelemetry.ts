// `mediasoup-watchdog/opentelemetry`: one OpenTelemetry span per watched transport, from watch()
// to its close, built from the watchdog's observer events. @opentelemetry/api is an optional peer
// dependency; the core entry never imports this file.

import { type Attributes, type Span, SpanKind, SpanStatusCode, type Tracer, trace } from '@opentelemetry/api';
import { boolean, closest, describeKind, describeValue } from '../checks.js';
import { Logger } from '../logger.js';
import type { Watchdog, WatchdogObserverEvents } from '../types.js';

const logger = new Logger('OpenTelemetry');

/** The name of every span `traceWatchdog()` starts. */
export const WATCH_SPAN_NAME = 'mediasoup_watchdog.watch';

/** The tracer name used when no `tracer` is passed (`trace.getTracer(DEFAULT_TRACER_NAME)`). */
export const DEFAULT_TRACER_NAME = 'mediasoup-watchdog';

/** Attribute keys of the watch span (see docs/observability.md, "OpenTelemetry"). */
export const SPAN_ATTRIBUTES = Object.freeze({
	transportId: 'mediasoup.transport.id',
	userId: 'user.id',
	closeReason: 'mediasoup_watchdog.close.reason',
	clean: 'mediasoup_watchdog.close.clean',
	closedByWatchdog: 'mediasoup_watchdog.close.closed_by_watchdog',
	connectedOnce: 'mediasoup_watchdog.connected_once',
	timeToConnectMs: 'mediasoup_watchdog.time_to_connect_ms',
	durationMs: 'mediasoup_watchdog.duration_ms',
	detectionMs: 'mediasoup_watchdog.detection_ms',
	restartsGranted: 'mediasoup_watchdog.ice_restarts.granted',
	restartsDenied: 'mediasoup_watchdog.ice_restarts.denied',
	tracerStopped: 'mediasoup_watchdog.tracer_stopped',
} as const);

/** Options of `traceWatchdog()`. */
export interface TraceWatchdogOptions {
	/**
	 * The tracer to start spans with.
	 * @default trace.getTracer('mediasoup-watchdog') (the global tracer provider's)
	 * @example provider.getTracer('sfu')
	 */
	readonly tracer?: Tracer;
	/**
	 * Whether spans carry the user id (`user.id`). Off by default: a trace backend often keeps data
	 * longer and shows it to more people than the SFU does.
	 * @default false
	 */
	readonly includeUserId?: boolean;
}

/** What `traceWatchdog()` returns. */
export interface WatchdogTracing extends Disposable {
	/** Spans started and not ended yet (one per watched transport). */
	readonly activeSpans: number;
	/**
	 * Stops listening to the watchdog and ends every open span, marking it
	 * `mediasoup_watchdog.tracer_stopped = true`. Idempotent.
	 */
	stop(): void;
}

const OPTION_NAMES = ['tracer', 'includeUserId'] as const;

interface OpenSpan {
	readonly span: Span;
	granted: number;
	denied: number;
}

type Listeners = { [K in keyof WatchdogObserverEvents]?: (payload: WatchdogObserverEvents[K]) => void };

/**
 * Traces a watchdog: each transport watched from now on gets one span (`mediasoup_watchdog.watch`,
 * kind INTERNAL, a child of the context active at `watch()`) that ends when the watch ends. Its
 * attributes say how it ended (reason, clean, who closed it, time to connect, detection latency,
 * ICE restarts granted and denied); its events mark `connected`, `ice.disconnected`,
 * `ice.reconnected`, `ice_restart.granted`, `ice_restart.denied` (with the reason) and
 * `ice_restart.done`. An unclean close sets the status to ERROR with the reason as message.
 * Transports already watched before the call get no span.
 *
 * @throws {TypeError} on a bad argument or an unknown option.
 */
export function traceWatchdog(
	// biome-ignore lint/suspicious/noExplicitAny: a watchdog of any appData type
	watchdog: Watchdog<any>,
	options: TraceWatchdogOptions = {},
): WatchdogTracing {
	if (typeof watchdog?.observer?.on !== 'function' || typeof watchdog.observer.off !== 'function') {
		throw new TypeError(
			`\`watchdog\` must be a watchdog (createWatchdog() / watchdogFor(policy)), got ${describeKind(watchdog)}`,
		);
	}
	if (typeof options !== 'object' || options === null || Array.isArray(options)) {
		throw new TypeError(`\`options\` must be an object, got ${describeValue(options)}`);
	}
	for (const key of Object.keys(options)) {
		if ((OPTION_NAMES as readonly string[]).includes(key)) continue;
		const suggestion = closest(key, OPTION_NAMES);
		throw new TypeError(
			`unknown option \`${key}\` set to ${describeValue((options as Record<string, unknown>)[key])}${suggestion ? `; did you mean \`${suggestion}\`?` : ''} (valid: ${OPTION_NAMES.join(', ')})`,
		);
	}
	const tracer = options.tracer ?? trace.getTracer(DEFAULT_TRACER_NAME);
	if (typeof (tracer as Partial<Tracer> | null)?.startSpan !== 'function') {
		throw new TypeError(`\`tracer\` must be an OpenTelemetry Tracer (with startSpan()), got ${describeKind(tracer)}`);
	}
	const includeUserId = boolean(options.includeUserId, 'includeUserId', false);

	const open = new Map<string, OpenSpan>();
	const finish = (transportId: string, attributes: Attributes, error?: string): void => {
		const entry = open.get(transportId);
		if (!entry) return;
		open.delete(transportId);
		entry.span.setAttributes({
			...attributes,
			[SPAN_ATTRIBUTES.restartsGranted]: entry.granted,
			[SPAN_ATTRIBUTES.restartsDenied]: entry.denied,
		});
		if (error !== undefined) entry.span.setStatus({ code: SpanStatusCode.ERROR, message: error });
		entry.span.end();
	};

	const listeners: Listeners = {
		watch: ({ transportId, userId }) => {
			// A transport watched again after a stop() its span already recorded; never two spans per id.
			finish(transportId, { [SPAN_ATTRIBUTES.closeReason]: 'stopped' });
			const attributes: Attributes = { [SPAN_ATTRIBUTES.transportId]: transportId };
			if (includeUserId && userId !== undefined) attributes[SPAN_ATTRIBUTES.userId] = userId;
			const span = tracer.startSpan(WATCH_SPAN_NAME, { kind: SpanKind.INTERNAL, attributes });
			open.set(transportId, { span, granted: 0, denied: 0 });
		},
		connect: ({ transportId, timeToConnectMs }) => {
			const span = open.get(transportId)?.span;
			span?.setAttribute(SPAN_ATTRIBUTES.timeToConnectMs, timeToConnectMs);
			span?.addEvent('connected', { [SPAN_ATTRIBUTES.timeToConnectMs]: timeToConnectMs });
		},
		statechange: ({ transportId, from, to }) => {
			const span = open.get(transportId)?.span;
			if (!span) return;
			if (to === 'disconnected') span.addEvent('ice.disconnected', { 'mediasoup_watchdog.state.from': from });
			else if (to === 'connected' && from === 'disconnected') span.addEvent('ice.reconnected');
			else if (to === 'connected' && from === 'restarting') span.addEvent('ice_restart.done');
			else if (to === 'stopped') finish(transportId, { [SPAN_ATTRIBUTES.closeReason]: 'stopped' });
		},
		icerestart: (event) => {
			const entry = open.get(event.transportId);
			if (!entry) return;
			if (event.outcome === 'granted') {
				entry.granted++;
				entry.span.addEvent('ice_restart.granted');
			} else {
				entry.denied++;
				const attributes: Attributes = { 'mediasoup_watchdog.ice_restart.denial_reason': event.reason };
				if (event.retryAfterMs !== null) attributes['mediasoup_watchdog.ice_restart.retry_after_ms'] = event.retryAfterMs;
				entry.span.addEvent('ice_restart.denied', attributes);
			}
		},
		close: (info) => {
			const attributes: Attributes = {
				[SPAN_ATTRIBUTES.closeReason]: info.reason,
				[SPAN_ATTRIBUTES.clean]: info.clean,
				[SPAN_ATTRIBUTES.closedByWatchdog]: info.closedByWatchdog,
				[SPAN_ATTRIBUTES.connectedOnce]: info.connectedOnce,
				[SPAN_ATTRIBUTES.durationMs]: info.durationMs,
			};
			if (info.timeToConnectMs !== null) attributes[SPAN_ATTRIBUTES.timeToConnectMs] = info.timeToConnectMs;
			if (info.detectionMs !== null) attributes[SPAN_ATTRIBUTES.detectionMs] = info.detectionMs;
			finish(info.transportId, attributes, info.clean ? undefined : info.reason);
		},
	};

	const on = (add: boolean): void => {
		for (const [event, listener] of Object.entries(listeners)) {
			const method = add ? watchdog.observer.on : watchdog.observer.off;
			method.call(watchdog.observer, event as keyof WatchdogObserverEvents, listener as (payload: unknown) => void);
		}
	};
	on(true);
	logger.debug('traceWatchdog() [includeUserId:%s]', includeUserId);

	let active = true;
	const stop = (): void => {
		if (!active) return;
		active = false;
		on(false);
		const left = [...open.keys()];
		for (const transportId of left) finish(transportId, { [SPAN_ATTRIBUTES.tracerStopped]: true });
		logger.debug('stop() [endedOpenSpans:%d]', left.length);
	};
	return Object.freeze({
		get activeSpans() {
			return open.size;
		},
		stop,
		[Symbol.dispose]: stop,
	});
}
