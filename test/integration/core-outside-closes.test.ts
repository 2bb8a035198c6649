// Closes the watchdog only records, against the real mediasoup worker: the app's own
// transport.close(), router.close(), the worker killed with SIGKILL (with one watch, and with
// 2 500), the WebRtcServer closed.
// Each is told apart by its reason, and none leaves a listener on the transport or a timer armed.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type CloseInfo, definePolicy, type TransportWatch, type Watchdog } from '../../src/index.js';
import { createWatchdog } from '../../src/watchdog.js';
import { createTestTransport, createTestWebRtcServer, type WebRtcTransport } from '../helpers/mediasoup.js';
import { useMediasoup } from '../helpers/mediasoup-fixture.js';
import { type CountingClock, countingClock, listenersOn } from '../helpers/watch-probes.js';

const sfu = useMediasoup();
let clock: CountingClock;
let watchdog: Watchdog;

beforeEach(() => {
	clock = countingClock();
	watchdog = createWatchdog(definePolicy({ connectTimeoutMs: 30_000 }), { clock });
});

afterEach(() => {
	watchdog.stop();
});

/** A never-connected transport under watch: its deadline timer is armed. */
async function watched(
	options: { webRtcServer?: Awaited<ReturnType<typeof createTestWebRtcServer>>; passWorker?: boolean; userId?: string } = {},
): Promise<{
	transport: WebRtcTransport;
	watch: TransportWatch<WebRtcTransport>;
	closing: Promise<{ at: number; info: CloseInfo }>;
}> {
	const transport = await createTestTransport(sfu.router, {
		appData: { userId: options.userId ?? 'alice' },
		...(options.webRtcServer ? { webRtcServer: options.webRtcServer } : {}),
	});
	const timersBefore = clock.pending();
	const watch = watchdog.watch(transport, options.passWorker === false ? {} : { worker: sfu.worker });
	const closing = new Promise<{ at: number; info: CloseInfo }>((resolve) => {
		watch.on('close', (info) => resolve({ at: performance.now(), info }));
	});
	expect(watch.state).toBe('connecting');
	expect(clock.pending()).toBe(timersBefore + 1);
	return { transport, watch, closing };
}

function expectReleased(transport: WebRtcTransport, watch: TransportWatch<WebRtcTransport>): void {
	expect(transport.closed).toBe(true);
	expect(watch.state).toBe('closed');
	expect(watch.transport).toBeUndefined();
	expect(listenersOn(transport)).toEqual({});
	expect(clock.pending()).toBe(0);
}

describe('closes outside the watchdog', () => {
	it('records `transport-closed` when the app calls transport.close(), at once', async () => {
		const { transport, watch, closing } = await watched();
		// "At once" is within the call: mediasoup emits its observer's 'close' inside
		// transport.close(), and the watch ends there, not on a later tick. (A bound in ms would
		// measure the machine: 5.4 ms once, under a CPU hog.)
		const before = performance.now();
		transport.close();
		const returnedAt = performance.now();
		const { at, info } = await closing;
		expect(at).toBeGreaterThanOrEqual(before);
		expect(at).toBeLessThanOrEqual(returnedAt);
		expect(info).toMatchObject({ reason: 'transport-closed', clean: true, closedByWatchdog: false, connectedOnce: false });
		expectReleased(transport, watch);
	});

	it('records `router-closed` when the router closes', async () => {
		const { transport, watch, closing } = await watched();
		sfu.router.close();
		const { info } = await closing;
		expect(info).toMatchObject({ reason: 'router-closed', clean: true, closedByWatchdog: false });
		expectReleased(transport, watch);
	});

	it('records `worker-died` when the worker process is killed with SIGKILL', async () => {
		const { transport, watch, closing } = await watched();
		const killedAt = performance.now();
		process.kill(sfu.worker.pid, 'SIGKILL');
		const { at, info } = await closing;
		console.info(`worker-died recorded ${(at - killedAt).toFixed(1)} ms after SIGKILL`);
		expect(sfu.worker.died).toBe(true);
		expect(info).toMatchObject({ reason: 'worker-died', clean: false, closedByWatchdog: false });
		expect(at - killedAt).toBeLessThan(1_000);
		expectReleased(transport, watch);
	});

	it('releases 2 500 watched transports at once when their worker is killed with SIGKILL', async () => {
		const count = 2_500;
		const transports = await Promise.all(
			Array.from({ length: count }, (_, i) => createTestTransport(sfu.router, { appData: { userId: `u${i % 1_250}` } })),
		);
		const closes: number[] = [];
		const reasons = new Set<string>();
		const watches = transports.map((transport) => {
			const watch = watchdog.watch(transport, { worker: sfu.worker });
			watch.on('close', (info) => {
				closes.push(performance.now());
				reasons.add(info.reason);
			});
			return watch;
		});
		expect(watchdog.snapshot().transports.connecting).toBe(count);
		expect(clock.pending()).toBe(count);
		const killedAt = performance.now();
		process.kill(sfu.worker.pid, 'SIGKILL');
		await Promise.all(watches.map((watch) => watch.closed));
		const spreadMs = Math.max(...closes) - Math.min(...closes);
		console.info(
			`${count} watches ended 'worker-died' ${(Math.min(...closes) - killedAt).toFixed(1)}-${(Math.max(...closes) - killedAt).toFixed(1)} ms after SIGKILL`,
		);
		expect(closes).toHaveLength(count);
		expect([...reasons]).toEqual(['worker-died']);
		// At once: mediasoup closes every transport of the dead worker in one go, and each watch ends there.
		expect(spreadMs).toBeLessThan(1_000);
		expect(clock.pending()).toBe(0);
		expect(transports.every((transport) => Object.keys(listenersOn(transport)).length === 0)).toBe(true);
		expect(watchdog.snapshot()).toMatchObject({
			transports: { connecting: 0, connected: 0, disconnected: 0, restarting: 0 },
			liveness: { tracked: 0, workers: [] },
		});
		expect(watchdog.snapshot().closes['worker-died']).toBe(count);
	});

	it('records `router-closed` for a killed worker it was not given in the watch options', async () => {
		const { transport, watch, closing } = await watched({ passWorker: false });
		process.kill(sfu.worker.pid, 'SIGKILL');
		const { info } = await closing;
		expect(info.reason).toBe('router-closed');
		expectReleased(transport, watch);
	});

	it('records `router-closed` when the app closes the worker (a close, not a death)', async () => {
		const { transport, watch, closing } = await watched();
		sfu.worker.close();
		expect((await closing).info.reason).toBe('router-closed');
		expectReleased(transport, watch);
	});

	it('records `listen-server-closed` when the WebRtcServer the transport listens on closes', async () => {
		const webRtcServer = await createTestWebRtcServer(sfu.worker);
		const { transport, watch, closing } = await watched({ webRtcServer });
		webRtcServer.close();
		const { info } = await closing;
		expect(info).toMatchObject({ reason: 'listen-server-closed', clean: true, closedByWatchdog: false });
		expectReleased(transport, watch);
	});

	it('records each transport of a closing router, and the watchdog keeps no watch of them', async () => {
		const all = await Promise.all(Array.from({ length: 10 }, (_, i) => watched({ userId: `user-${i}` })));
		expect(clock.pending()).toBe(10);
		sfu.router.close();
		const infos = await Promise.all(all.map(({ closing }) => closing));
		expect(infos.map(({ info }) => info.reason)).toEqual(Array.from({ length: 10 }, () => 'router-closed'));
		for (const { transport, watch } of all) expectReleased(transport, watch);
		expect(watchdog.snapshot().transports).toEqual({ connecting: 0, connected: 0, disconnected: 0, restarting: 0 });
	});
});

describe('the app closing through the watch', () => {
	it('closes the real transport with `app`, and the router forgets it', async () => {
		const { transport, watch, closing } = await watched();
		watch.close('test over');
		const { info } = await closing;
		expect(info).toMatchObject({ reason: 'app', clean: true, closedByWatchdog: true, detail: 'test over' });
		expectReleased(transport, watch);
		expect((await sfu.router.dump()).transportIds).not.toContain(transport.id);
	});

	it('stop() leaves the real transport open and working, with no listener or timer of the watch', async () => {
		const { transport, watch } = await watched();
		watch.stop();
		expect(transport.closed).toBe(false);
		expect(listenersOn(transport)).toEqual({});
		expect(clock.pending()).toBe(0);
		expect((await transport.getStats())[0]?.iceState).toBe('new');
		expect((await sfu.router.dump()).transportIds).toContain(transport.id);
	});
});
