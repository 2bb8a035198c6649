// traceWatchdog(): one span per watched transport, read back from the OpenTelemetry SDK's
// InMemorySpanExporter. Fake transports under a manual clock; the span's attributes, events and
// status for each way a watch ends; the user id only when asked; stop() leaves nothing behind.
// test/integration/mediasoup-327-opentelemetry.test.ts drives a real worker and client.
import { SpanStatusCode } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterEach, describe, expect, it } from 'vitest';
import { SPAN_ATTRIBUTES as A, traceWatchdog, WATCH_SPAN_NAME } from '../../src/adapters/opentelemetry.js';
import { isIceRestartDeniedError } from '../../src/errors.js';
import type { WatchdogPolicyOptions } from '../../src/index.js';
import { createWatchdog } from '../../src/watchdog.js';
import { createFakeTransport, type FakeWebRtcTransport } from '../helpers/fake-transport.js';
import { observerListenerTotal } from '../helpers/leaks.js';
import { ManualClock } from '../helpers/manual-clock.js';

const cleanups: Array<() => void> = [];
afterEach(() => {
	for (const cleanup of cleanups.splice(0).reverse()) cleanup();
});

function setup(policy: WatchdogPolicyOptions = {}, includeUserId?: boolean) {
	const clock = new ManualClock();
	const watchdog = createWatchdog({ maxPendingPerUser: Number.POSITIVE_INFINITY, ...policy }, { clock });
	const exporter = new InMemorySpanExporter();
	const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
	const tracing = traceWatchdog(watchdog, {
		tracer: provider.getTracer('test'),
		...(includeUserId === undefined ? {} : { includeUserId }),
	});
	cleanups.push(() => {
		tracing.stop();
		watchdog.stop();
		void provider.shutdown();
	});
	const spans = (): ReadableSpan[] => exporter.getFinishedSpans();
	const only = (transportId: string): ReadableSpan => {
		const found = spans().filter((s) => s.attributes[A.transportId] === transportId);
		expect(found).toHaveLength(1);
		return found[0] as ReadableSpan;
	};
	return { clock, watchdog, tracing, spans, only };
}

function transportOf(userId: string): FakeWebRtcTransport<{ userId: string }> {
	return createFakeTransport({ appData: { userId } }).transport;
}

const eventNames = (span: ReadableSpan): string[] => span.events.map((e) => e.name);

describe('traceWatchdog()', () => {
	it('ends one span per transport at its close, with the reason, time to connect and restart counts, ERROR when unclean', async () => {
		const { clock, watchdog, tracing, only, spans } = setup({
			disconnectGraceMs: 3_000,
			inactivityTimeoutMs: Number.POSITIVE_INFINITY,
			iceRestart: { perUser: { limit: 1, windowMs: 60_000 }, reconnectTimeoutMs: 4_000 },
		});
		const a = transportOf('alice');
		const wa = watchdog.watch(a);
		expect(tracing.activeSpans).toBe(1);
		await clock.advance(250);
		a.connectClient();
		await wa.restartIce();
		await expect(wa.restartIce()).rejects.toSatisfy((error) => isIceRestartDeniedError(error) && error.reason === 'rate-limited');
		a.emitIceState('disconnected');
		expect(spans()).toHaveLength(0);
		await clock.advance(10_000);
		expect(wa.closeReason).toBe('restart-timeout');
		expect(tracing.activeSpans).toBe(0);

		const span = only(a.id);
		expect(span.name).toBe(WATCH_SPAN_NAME);
		expect(span.attributes).toEqual({
			[A.transportId]: a.id,
			[A.timeToConnectMs]: 250,
			[A.closeReason]: 'restart-timeout',
			[A.clean]: false,
			[A.closedByWatchdog]: true,
			[A.connectedOnce]: true,
			[A.durationMs]: 4_250,
			[A.detectionMs]: 4_000,
			[A.restartsGranted]: 1,
			[A.restartsDenied]: 1,
		});
		expect(span.status).toEqual({ code: SpanStatusCode.ERROR, message: 'restart-timeout' });
		expect(eventNames(span)).toEqual(['connected', 'ice_restart.granted', 'ice_restart.denied']);
		const denied = span.events[2];
		expect(denied?.attributes?.['mediasoup_watchdog.ice_restart.denial_reason']).toBe('rate-limited');
		expect(denied?.attributes?.['mediasoup_watchdog.ice_restart.retry_after_ms']).toBeGreaterThan(0);
		expect(span.attributes[A.userId]).toBeUndefined();
	});

	it('marks ICE disconnections and reconnections, and a followed restart, as span events', async () => {
		const { clock, watchdog, only } = setup({
			disconnectGraceMs: 3_000,
			inactivityTimeoutMs: Number.POSITIVE_INFINITY,
			iceRestart: { perUser: false, reconnectTimeoutMs: 4_000 },
		});
		const t = transportOf('alice');
		const watch = watchdog.watch(t);
		t.connectClient();
		t.emitIceState('disconnected');
		await clock.advance(1_000);
		t.emitIceState('completed');
		await watch.restartIce();
		t.emitSelectedTuple({ remotePort: 50_001 });
		t.emitIceState('completed');
		await clock.advance(5_000);
		watch.close('done');
		const span = only(t.id);
		expect(eventNames(span)).toEqual([
			'connected',
			'ice.disconnected',
			'ice.reconnected',
			'ice_restart.granted',
			'ice_restart.done',
		]);
		expect(span.events[1]?.attributes).toEqual({ 'mediasoup_watchdog.state.from': 'connected' });
		expect(span.attributes[A.closeReason]).toBe('app');
		expect(span.attributes[A.clean]).toBe(true);
		expect(span.status.code).toBe(SpanStatusCode.UNSET);
	});

	it('ends the span of a transport closed outside the watchdog (closedByWatchdog false) and of a never-connected one', async () => {
		const { clock, watchdog, only } = setup({ connectTimeoutMs: 2_000 });
		const outside = transportOf('alice');
		const never = transportOf('bob');
		watchdog.watch(outside);
		watchdog.watch(never);
		outside.connectClient();
		outside.routerClosed();
		await clock.advance(2_000);
		expect(only(outside.id).attributes).toMatchObject({ [A.closeReason]: 'router-closed', [A.closedByWatchdog]: false });
		const span = only(never.id);
		expect(span.attributes).toMatchObject({ [A.closeReason]: 'connect-timeout', [A.connectedOnce]: false, [A.clean]: false });
		expect(span.attributes[A.timeToConnectMs]).toBeUndefined();
		expect(span.status.code).toBe(SpanStatusCode.ERROR);
	});

	it('carries the user id only with includeUserId: true', () => {
		const off = setup({}, false);
		const on = setup({}, true);
		const [a, b] = [transportOf('alice'), transportOf('bob')];
		off.watchdog.watch(a).close();
		on.watchdog.watch(b).close();
		expect(off.only(a.id).attributes[A.userId]).toBeUndefined();
		expect(on.only(b.id).attributes[A.userId]).toBe('bob');
	});

	it('ends a stopped watch with reason stopped and no error, and a re-watch gets a span of its own', () => {
		const { watchdog, spans } = setup();
		const t = transportOf('alice');
		watchdog.watch(t).stop();
		watchdog.watch(t).close();
		expect(spans().map((s) => [s.attributes[A.closeReason], s.status.code])).toEqual([
			['stopped', SpanStatusCode.UNSET],
			['app', SpanStatusCode.UNSET],
		]);
	});

	it('stop() removes every observer listener and ends the open spans, marked tracer_stopped', () => {
		const { watchdog, tracing, spans } = setup();
		const before = observerListenerTotal(watchdog);
		expect(before).toBeGreaterThan(0);
		const [a, b] = [transportOf('alice'), transportOf('bob')];
		watchdog.watch(a);
		watchdog.watch(b);
		tracing.stop();
		tracing.stop();
		expect(observerListenerTotal(watchdog)).toBe(0);
		expect(tracing.activeSpans).toBe(0);
		expect(spans().map((s) => s.attributes[A.tracerStopped])).toEqual([true, true]);
		// Later closes start or end nothing.
		watchdog.get(a.id)?.close();
		watchdog.watch(transportOf('carol'));
		expect(spans()).toHaveLength(2);
		expect(tracing.activeSpans).toBe(0);
	});

	it('refuses a bad watchdog, tracer, includeUserId or an unknown option with a TypeError naming it', () => {
		const { watchdog } = setup();
		expect(() => traceWatchdog({} as never)).toThrow(/`watchdog` must be a watchdog.*got an Object/);
		expect(() => traceWatchdog(watchdog, { tracer: {} as never })).toThrow(
			/`tracer` must be an OpenTelemetry Tracer.*got an Object/,
		);
		expect(() => traceWatchdog(watchdog, { includeUserId: 'yes' as never })).toThrow(
			'`includeUserId` must be a boolean, got "yes" (string)',
		);
		expect(() => traceWatchdog(watchdog, { includeUserID: true } as never)).toThrow(
			'unknown option `includeUserID` set to true (boolean); did you mean `includeUserId`? (valid: tracer, includeUserId)',
		);
		expect(() => traceWatchdog(watchdog, null as never)).toThrow(TypeError);
	});

	it('uses the global tracer provider when no tracer is given', () => {
		const watchdog = createWatchdog({ maxPendingPerUser: Number.POSITIVE_INFINITY });
		const tracing = traceWatchdog(watchdog);
		cleanups.push(() => {
			tracing.stop();
			watchdog.stop();
		});
		watchdog.watch(transportOf('alice'));
		// No provider registered: the API's no-op tracer, still one tracked span per watch.
		expect(tracing.activeSpans).toBe(1);
	});
});
