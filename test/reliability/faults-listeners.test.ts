// Faults from the application's own code, against the REAL mediasoup 3.12 worker with real werift
// clients: the transport closed inside a `connect` listener, listeners that throw on every event,
// stop() and close() called from inside listeners and all at once, and the app's own cleanup on
// mediasoup's `observer.close` calling back into the watchdog. Each watch ends once, with one
// reason, in order; `closed` settles; nothing of the watchdog is left on the transport; no timer is
// left; no unhandled rejection or uncaught exception.
import { describe, expect, it } from 'vitest';
import type { CloseInfo, TransportWatch, WatchdogPolicyOptions } from '../../src/index.js';
import { createWatchdog } from '../../src/watchdog.js';
import { countingClock, listenerDiff, listenersOn, useProcessProblems, within } from '../helpers/leaks.js';
import { createTestTransport, type WebRtcTransport } from '../helpers/mediasoup.js';
import { useMediasoup } from '../helpers/mediasoup-fixture.js';
import { recordEvents, WATCH_EVENT_NAMES } from '../helpers/watch-events.js';
import { closeAllWeriftClients, spawnWeriftClient } from '../helpers/werift/harness.js';

const problems = useProcessProblems();
const sfu = useMediasoup({ closeClients: [closeAllWeriftClients] });

const POLICY: WatchdogPolicyOptions = {
	connectTimeoutMs: 10_000,
	inactivityTimeoutMs: Number.POSITIVE_INFINITY,
	iceRestart: { reconnectTimeoutMs: 1_000 },
};

function setup(policy: WatchdogPolicyOptions = POLICY) {
	const clock = countingClock();
	const watchdog = createWatchdog(policy, { clock });
	return { clock, watchdog };
}

/** A data-only transport and its werift client, the watch armed before the client connects. */
async function withWerift(
	watchdog: ReturnType<typeof setup>['watchdog'],
	userId: string,
	arm: (watch: TransportWatch<WebRtcTransport>, transport: WebRtcTransport) => void = () => {},
) {
	// Spawned before the watch: the spawn (tsx + werift, over 15 s on 2 busy cores) is the harness's cost, not the client's.
	const peer = await spawnWeriftClient();
	const transport = await createTestTransport(sfu.router, { enableSctp: true, appData: { userId } });
	const before = listenersOn(transport);
	const watch = watchdog.watch(transport, { worker: sfu.worker });
	const events = recordEvents(watch);
	arm(watch, transport);
	const withWatch = listenersOn(transport);
	const client = await peer.connect({ transport });
	const clientListeners = listenerDiff(listenersOn(transport), withWatch);
	/** Listeners that must remain once the watch is gone: what was there before, plus the harness's. */
	const expectedAfter = (): Record<string, number> => listenerDiff(listenersOn(transport), before);
	return { transport, watch, events, client, clientListeners, expectedAfter };
}

describe('the app closes the transport inside a `connect` listener', () => {
	it('ends the watch once with `transport-closed`, after `connect` reached every listener, and gives back the pending slot', async () => {
		const { clock, watchdog } = setup();
		const seen: string[] = [];
		const w = await withWerift(watchdog, 'closer', (watch, transport) => {
			watch.on('connect', () => {
				seen.push('first connect listener');
				transport.close();
			});
			watch.on('connect', () => seen.push('second connect listener'));
		});
		const info = await within(w.watch.closed, 10_000, 'the watch closed');
		expect(info).toMatchObject({ reason: 'transport-closed', clean: true, closedByWatchdog: false, connectedOnce: true });
		expect(seen).toEqual(['first connect listener', 'second connect listener']);
		expect(w.events.names()).toEqual(['statechange', 'connect', 'statechange', 'close']);
		expect(w.events.transitions()).toEqual(['connecting→connected', 'connected→closed']);
		expect(listenerDiff(w.expectedAfter(), w.clientListeners)).toEqual({});
		expect(clock.pending()).toBe(0);
		expect(watchdog.snapshot()).toMatchObject({
			transports: { connecting: 0, connected: 0, disconnected: 0, restarting: 0 },
			closes: { 'transport-closed': 1 },
			users: 0,
			liveness: { tracked: 0 },
		});
		expect(await watchdog.canCreate('closer')).toBe(true);
		expect(problems.seen).toEqual([]);
	});
});

describe('listeners that throw on every event', () => {
	it('turn every event into a `listenererror` while the watch connects, restarts, comes back and closes as if they did not exist', async () => {
		const { clock, watchdog } = setup();
		const observerErrors: string[] = [];
		for (const event of ['watch', 'statechange', 'connect', 'icerestart', 'close', 'listenererror'] as const) {
			watchdog.observer.on(event, () => {
				throw new Error(`observer ${event} listener`);
			});
		}
		watchdog.observer.on('listenererror', ({ event }) => observerErrors.push(event));
		const w = await withWerift(watchdog, 'thrower', (watch) => {
			for (const event of WATCH_EVENT_NAMES) {
				watch.on(event, () => {
					throw new Error(`${event} listener`);
				});
			}
		});
		await w.client.waitForConnected();
		expect(w.watch.state).toBe('connected');

		// A granted restart that werift follows invisibly (same tuple): back to `connected` at the deadline.
		const iceParameters = await w.watch.restartIce();
		expect(w.watch.state).toBe('restarting');
		await w.client.restartIce({ ...iceParameters }, { kick: true, waitMs: 2_000 });
		await within(
			new Promise<void>((resolve) => {
				const check = setInterval(() => {
					if (w.watch.state !== 'restarting') {
						clearInterval(check);
						resolve();
					}
				}, 20);
			}),
			5_000,
			'back from restarting',
		);
		expect(w.watch.state).toBe('connected');
		w.watch.close('done');
		const info = await w.watch.closed;
		expect(info.reason).toBe('app');

		const delivered = w.events.names().filter((name) => name !== 'listenererror');
		expect(delivered).toEqual(['statechange', 'connect', 'statechange', 'icerestart', 'statechange', 'statechange', 'close']);
		expect(w.events.transitions()).toEqual([
			'connecting→connected',
			'connected→restarting',
			'restarting→connected',
			'connected→closed',
		]);
		// One listenererror per delivered event; the throwing listenererror listener is only logged.
		expect(w.events.of('listenererror').map((e) => e.event)).toEqual(delivered);
		expect(observerErrors.sort()).toEqual(
			['watch', 'statechange', 'connect', 'icerestart', 'statechange', 'statechange', 'statechange', 'close'].sort(),
		);
		expect(w.transport.closed).toBe(true);
		expect(listenerDiff(w.expectedAfter(), w.clientListeners)).toEqual({});
		expect(clock.pending()).toBe(0);
		expect(problems.seen).toEqual([]);
	});
});

describe('stop() and close() from inside listeners', () => {
	it('close() in a `connect` listener: the other listeners still get `connect`, then `closed`, in order, once', async () => {
		const { clock, watchdog } = setup();
		const order: string[] = [];
		const w = await withWerift(watchdog, 'inside', (watch) => {
			watch.on('connect', () => {
				order.push('connect 1');
				watch.close('from connect');
				order.push(`after close(): ${watch.state}`);
			});
			watch.on('connect', () => order.push('connect 2'));
			watch.on('statechange', ({ to }) => order.push(`statechange ${to}`));
			watch.on('close', ({ reason }) => order.push(`close ${reason}`));
		});
		const info = await within(w.watch.closed, 10_000, 'closed');
		expect(info).toMatchObject({ reason: 'app', detail: 'from connect', closedByWatchdog: true });
		expect(order).toEqual([
			'statechange connected',
			'connect 1',
			'after close(): closed',
			'connect 2',
			'statechange closed',
			'close app',
		]);
		expect(w.transport.closed).toBe(true);
		expect(listenerDiff(w.expectedAfter(), w.clientListeners)).toEqual({});
		expect(clock.pending()).toBe(0);
		expect(problems.seen).toEqual([]);
	});

	it('stop() in a `statechange` listener: the watch lets go, the transport and the client stay connected', async () => {
		const { clock, watchdog } = setup();
		const w = await withWerift(watchdog, 'stopper', (watch) => {
			watch.on('statechange', ({ to }) => {
				if (to === 'connected') watch.stop();
			});
		});
		const info = await within(w.watch.closed, 10_000, 'stopped');
		expect(info).toMatchObject({ reason: 'stopped', closedByWatchdog: false, connectedOnce: true });
		await w.client.waitForConnected();
		expect(await w.client.echo('still here')).toBeGreaterThan(0);
		expect(w.transport.closed).toBe(false);
		expect(w.transport.dtlsState).toBe('connected');
		expect(w.events.of('close')).toEqual([]);
		expect(listenerDiff(w.expectedAfter(), w.clientListeners)).toEqual({});
		expect(clock.pending()).toBe(0);
		expect(watchdog.snapshot().transports.connected).toBe(0);
		expect(problems.seen).toEqual([]);
	});
});

describe('endings that race', () => {
	it('close(), stop(), closeUser(), watchdog.stop() and transport.close() in one tick on 12 watches: the first wins, once', async () => {
		const { clock, watchdog } = setup({ ...POLICY, maxPendingPerUser: Number.POSITIVE_INFINITY });
		const transports = await Promise.all(
			Array.from({ length: 12 }, (_, n) => createTestTransport(sfu.router, { appData: { userId: `racer-${n % 3}` } })),
		);
		const watches = transports.map((transport) => watchdog.watch(transport, { worker: sfu.worker }));
		const logs = watches.map((watch) => recordEvents(watch));
		const endings = [
			(n: number) => watches[n]?.close('first'),
			(n: number) => watches[n]?.stop(),
			(n: number) => watchdog.closeUser(`racer-${n % 3}`, 'closeUser'),
			() => watchdog.stop(),
			(n: number) => transports[n]?.close(),
		];
		// Each watch gets every ending, in an order that starts with a different one.
		const expectedReasons: string[] = [];
		for (let n = 0; n < watches.length; n++) {
			const watch = watches[n] as TransportWatch<WebRtcTransport>;
			if (watch.closeReason !== undefined) {
				expectedReasons.push(watch.closeReason);
				continue;
			}
			const first = n % endings.length;
			expectedReasons.push(['app', 'stopped', 'app', 'stopped', 'transport-closed'][first] as string);
			for (let k = 0; k < endings.length; k++) endings[(first + k) % endings.length]?.(n);
		}
		const infos: CloseInfo[] = await within(Promise.all(watches.map((watch) => watch.closed)), 5_000, 'all closed');
		expect(infos.map((info) => info.reason)).toEqual(expectedReasons);
		for (const [n, watch] of watches.entries()) {
			const log = logs[n];
			expect(watch.closeReason).toBe(infos[n]?.reason);
			expect(log?.of('close').length).toBe(watch.state === 'closed' ? 1 : 0);
			expect(listenersOn(transports[n] as WebRtcTransport)).toEqual({});
		}
		expect(clock.pending()).toBe(0);
		expect(problems.seen).toEqual([]);
	});

	it('the app`s cleanup on mediasoup`s `observer.close` calling closeUser() while the router closes: one reason per watch, one observer close each', async () => {
		const { clock, watchdog } = setup({ ...POLICY, maxPendingPerUser: Number.POSITIVE_INFINITY });
		const observerCloses: string[] = [];
		watchdog.observer.on('close', ({ transportId }) => observerCloses.push(transportId));
		const transports = await Promise.all(
			Array.from({ length: 6 }, () => createTestTransport(sfu.router, { appData: { userId: 'peer' } })),
		);
		const watches = transports.map((transport) => watchdog.watch(transport, { worker: sfu.worker }));
		for (const transport of transports) transport.observer.on('close', () => watchdog.closeUser('peer', 'peer cleanup'));
		sfu.router.close();
		const infos = await within(Promise.all(watches.map((watch) => watch.closed)), 5_000, 'all closed');
		// The first transport the router closes is recorded as such; the app's cleanup closes the rest first.
		expect(infos.map((info) => info.reason)).toEqual(['router-closed', 'app', 'app', 'app', 'app', 'app']);
		expect(observerCloses.sort()).toEqual(transports.map((transport) => transport.id).sort());
		expect(watchdog.snapshot().closes).toEqual({ 'router-closed': 1, app: 5 });
		for (const transport of transports) expect(listenersOn(transport)).toEqual({ 'observer:close': 1 });
		expect(clock.pending()).toBe(0);
		expect(problems.seen).toEqual([]);
	});
});
