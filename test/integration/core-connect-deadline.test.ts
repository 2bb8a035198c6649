// The first-connect deadline against the real mediasoup 3.12 worker: a transport nobody connects
// is closed with `connect-timeout` at the deadline, and a transport Chromium connects in time is
// never closed by it.
import { describe, expect, it } from 'vitest';
import { type CloseInfo, definePolicy, type TransportWatch, watchTransport } from '../../src/index.js';
import { createWatchdog } from '../../src/watchdog.js';
import { closeAllChromiumClients, launchChromiumClient } from '../helpers/chromium/harness.js';
import { createTestTransport, type WebRtcTransport } from '../helpers/mediasoup.js';
import { useMediasoup } from '../helpers/mediasoup-fixture.js';
import { countingClock, listenersOn } from '../helpers/watch-probes.js';

const sfu = useMediasoup({ closeClients: [closeAllChromiumClients] });

/** When the watch ended (performance.now()) and how. */
function closeOf(watch: TransportWatch<WebRtcTransport>): Promise<{ at: number; info: CloseInfo }> {
	return new Promise((resolve) => {
		watch.on('close', (info) => resolve({ at: performance.now(), info }));
	});
}

describe('a transport nobody connects', () => {
	it('is closed by the watchdog with `connect-timeout` within 100 ms of the deadline, and nothing is left behind', async () => {
		const connectTimeoutMs = 1_500;
		const transport = await createTestTransport(sfu.router, { appData: { userId: 'nobody' } });
		const clock = countingClock();
		const watchdog = createWatchdog(definePolicy({ connectTimeoutMs }), { clock });
		const startedAt = performance.now();
		const watch = watchdog.watch(transport, { worker: sfu.worker });
		const closing = closeOf(watch);
		expect(clock.pending()).toBe(1);

		const { at, info } = await closing;
		const errorMs = at - startedAt - connectTimeoutMs;
		console.info(`connect-timeout fired ${errorMs.toFixed(1)} ms after the ${connectTimeoutMs} ms deadline`);
		expect(errorMs).toBeGreaterThanOrEqual(0);
		expect(errorMs).toBeLessThan(100);
		expect(info).toMatchObject({
			reason: 'connect-timeout',
			clean: false,
			closedByWatchdog: true,
			transportId: transport.id,
			userId: 'nobody',
			connectedOnce: false,
			timeToConnectMs: null,
			detail: `DTLS not connected within ${connectTimeoutMs} ms (iceState:new, dtlsState:new)`,
		});
		expect(Math.abs(info.durationMs - connectTimeoutMs)).toBeLessThan(100);
		expect(transport.closed).toBe(true);
		expect(watch.transport).toBeUndefined();
		expect(listenersOn(transport)).toEqual({});
		expect(clock.pending()).toBe(0);
		expect(await watch.closed).toBe(info);
	});

	it('is closed through the front door watchTransport() too, and the worker forgets it', async () => {
		const connectTimeoutMs = 1_000;
		const transport = await createTestTransport(sfu.router, { appData: { userId: 'nobody' } });
		const startedAt = performance.now();
		const watch = watchTransport(transport, { connectTimeoutMs });
		const { at, info } = await closeOf(watch);
		const errorMs = at - startedAt - connectTimeoutMs;
		console.info(`watchTransport(): connect-timeout ${errorMs.toFixed(1)} ms after the deadline`);
		expect(info.reason).toBe('connect-timeout');
		expect(errorMs).toBeGreaterThanOrEqual(0);
		expect(errorMs).toBeLessThan(100);
		const dump = await sfu.router.dump();
		expect(dump.transportIds).not.toContain(transport.id);
	});

	it('closes 50 never-connected transports at their deadline, each within 100 ms of it', async () => {
		const connectTimeoutMs = 2_000;
		const transports = await Promise.all(
			Array.from({ length: 50 }, (_, i) => createTestTransport(sfu.router, { appData: { userId: `user-${i}` } })),
		);
		const clock = countingClock();
		const watchdog = createWatchdog(definePolicy({ connectTimeoutMs }), { clock });
		const results = await Promise.all(
			transports.map(async (transport) => {
				const startedAt = performance.now();
				const { at, info } = await closeOf(watchdog.watch(transport, { worker: sfu.worker }));
				return { errorMs: at - startedAt - connectTimeoutMs, info, transport };
			}),
		);
		const errors = results.map(({ errorMs }) => errorMs).sort((a, b) => a - b);
		console.info(
			`50 deadlines: error min ${errors[0]?.toFixed(1)} ms, median ${errors[25]?.toFixed(1)} ms, max ${errors[49]?.toFixed(1)} ms`,
		);
		for (const { errorMs, info, transport } of results) {
			expect(info.reason).toBe('connect-timeout');
			expect(errorMs).toBeGreaterThanOrEqual(0);
			expect(errorMs).toBeLessThan(100);
			expect(transport.closed).toBe(true);
			expect(listenersOn(transport)).toEqual({});
		}
		expect(clock.pending()).toBe(0);
		expect((await sfu.router.dump()).transportIds).toEqual([]);
	});
});

describe('a transport Chromium connects in time', () => {
	it('emits `connect` with the time it took and is not closed once the deadline has passed', async () => {
		const connectTimeoutMs = 4_000;
		const clock = countingClock();
		const watchdog = createWatchdog(definePolicy({ connectTimeoutMs, inactivityTimeoutMs: Number.POSITIVE_INFINITY }), { clock });
		let watch: TransportWatch<WebRtcTransport> | undefined;
		// The watch's own clock readings are bracketed by the test's, with no tolerance that load
		// could break (a 2-core machine can preempt Node for tens of ms between any two readings):
		// the watch starts in [startedAt, watchedAt] and sees DTLS `connected` in [dtlsAt, connectedAt],
		// since the test's `dtlsstatechange` listener is added before the watch's and runs first.
		let startedAt = 0;
		let watchedAt = 0;
		let dtlsAt = 0;
		let removeDtlsProbe = (): void => {};
		let connected: { at: number; timeToConnectMs: number } | undefined;
		const closes: CloseInfo[] = [];
		const client = await launchChromiumClient(sfu.router, {
			transports: 'send',
			appData: { userId: 'chromium' },
			onTransport: (transport) => {
				const onDtlsState = (dtlsState: string): void => {
					if (dtlsState === 'connected' && dtlsAt === 0) dtlsAt = performance.now();
				};
				transport.on('dtlsstatechange', onDtlsState);
				removeDtlsProbe = () => transport.off('dtlsstatechange', onDtlsState);
				startedAt = performance.now();
				watch = watchdog.watch(transport, { worker: sfu.worker });
				watchedAt = performance.now();
				watch.on('connect', ({ timeToConnectMs }) => {
					connected = { at: performance.now(), timeToConnectMs };
				});
				watch.on('close', (info) => closes.push(info));
			},
		});
		await client.waitForConnected();
		if (!watch || !connected) throw new Error(`onTransport was not called or no connect event (${String(watch?.state)})`);
		const active = watch;
		const { at, timeToConnectMs } = connected;
		console.info(
			`Chromium connected ${timeToConnectMs.toFixed(1)} ms after the watch started (test's bracket: ${(dtlsAt - watchedAt).toFixed(1)}–${(at - startedAt).toFixed(1)} ms)`,
		);
		expect(timeToConnectMs).toBeGreaterThan(0);
		expect(timeToConnectMs).toBeLessThan(connectTimeoutMs);
		expect(dtlsAt).toBeGreaterThan(0);
		expect(timeToConnectMs).toBeGreaterThanOrEqual(dtlsAt - watchedAt);
		expect(timeToConnectMs).toBeLessThanOrEqual(at - startedAt);
		expect(active.state).toBe('connected');
		expect(active.connectedOnce).toBe(true);
		expect(clock.pending()).toBe(0);

		const pastDeadline = startedAt + connectTimeoutMs + 500 - performance.now();
		await new Promise((resolve) => setTimeout(resolve, Math.max(0, pastDeadline)));
		expect(closes).toEqual([]);
		expect(active.state).toBe('connected');
		expect(active.transport?.closed).toBe(false);
		expect(active.transport?.dtlsState).toBe('connected');
		const transport = active.transport;
		active.stop();
		removeDtlsProbe();
		if (transport) expect(listenersOn(transport)).toEqual({});
		expect(clock.pending()).toBe(0);
	});
});
