// traceWatchdog() on a real mediasoup 3.27 worker with a real werift peer: the transport's span,
// read back from the OpenTelemetry SDK's InMemorySpanExporter, holds the real time to connect, the
// granted and the denied ICE restart, and ends in ERROR `restart-timeout` when the peer applies the
// new ICE parameters but never checks again (werift without its start() kick, see
// ice-restart-werift.test.ts). Small policy values (reconnectTimeoutMs 1 s) keep it short; the
// behaviour does not depend on them. Runs on 3.27 only (the tracing code is the same on 3.12: it
// reads only the watchdog's observer, which test/unit/opentelemetry.test.ts covers).
import { SpanStatusCode } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { describe, expect, it } from 'vitest';
import { SPAN_ATTRIBUTES as A, traceWatchdog } from '../../src/adapters/opentelemetry.js';
import { isIceRestartDeniedError } from '../../src/errors.js';
import type { CloseInfo } from '../../src/index.js';
import { observerListenerTotal } from '../helpers/leaks.js';
import { createTestTransport, workerLabel } from '../helpers/mediasoup.js';
import { useMediasoup } from '../helpers/mediasoup-fixture.js';
import { closeAllWeriftClients, spawnWeriftClient } from '../helpers/werift/harness.js';

const sfu = useMediasoup({
	watchdog: {
		inactivityTimeoutMs: Number.POSITIVE_INFINITY,
		iceRestart: { perUser: { limit: 1, windowMs: 60_000 }, reconnectTimeoutMs: 1_000 },
	},
	closeClients: [closeAllWeriftClients],
});

describe(`traceWatchdog() (${workerLabel})`, () => {
	it('records a real transport from watch to an unclean close: time to connect, restarts granted and denied, ERROR status', async () => {
		const exporter = new InMemorySpanExporter();
		const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
		const tracing = traceWatchdog(sfu.watchdog, { tracer: provider.getTracer('sfu') });
		try {
			// Spawned before the watch: the spawn (tsx + werift, over 15 s on 2 busy cores) is the harness's cost, not the client's.
			const peer = await spawnWeriftClient();
			const transport = await createTestTransport(sfu.router, { enableSctp: true });
			const watch = sfu.watchdog.watch(transport, { worker: sfu.worker, userId: 'wendy' });
			const closed = new Promise<CloseInfo>((resolve) => watch.on('close', resolve));
			const client = await peer.connect({ transport });
			await client.waitForConnected();
			const iceParameters = await watch.restartIce();
			await expect(watch.restartIce()).rejects.toSatisfy(
				(error) => isIceRestartDeniedError(error) && error.reason === 'rate-limited',
			);
			await client.restartIce({ ...iceParameters }, { kick: false, waitMs: 0 });
			const info = await closed;
			expect(info.reason).toBe('restart-timeout');

			const [span, ...others] = exporter.getFinishedSpans();
			expect(others).toEqual([]);
			expect(span?.attributes).toMatchObject({
				[A.transportId]: transport.id,
				[A.closeReason]: 'restart-timeout',
				[A.clean]: false,
				[A.closedByWatchdog]: true,
				[A.connectedOnce]: true,
				[A.timeToConnectMs]: info.timeToConnectMs,
				[A.durationMs]: info.durationMs,
				[A.detectionMs]: info.detectionMs,
				[A.restartsGranted]: 1,
				[A.restartsDenied]: 1,
			});
			expect(info.timeToConnectMs).toBeGreaterThan(0);
			expect(span?.attributes[A.userId]).toBeUndefined();
			expect(span?.status).toEqual({ code: SpanStatusCode.ERROR, message: 'restart-timeout' });
			expect(span?.events.map((e) => e.name)).toEqual(['connected', 'ice_restart.granted', 'ice_restart.denied']);
			// The span lasted as long as the watch (the SDK's clock against the watchdog's).
			const spanMs = span ? span.duration[0] * 1_000 + span.duration[1] / 1e6 : 0;
			expect(Math.abs(spanMs - info.durationMs)).toBeLessThan(50);
			expect(tracing.activeSpans).toBe(0);
		} finally {
			tracing.stop();
			await provider.shutdown();
		}
		expect(observerListenerTotal(sfu.watchdog)).toBe(0);
	}, 20_000);
});
