// watchdog.observer: typed events for metrics adapters (a watch created, state changes, the
// first connect, restart decisions, a close with its reason), apart from the app-facing events of
// each watch, and a listener that throws can break neither the watch nor anyone else.
import { afterEach, describe, expect, it } from 'vitest';
import type { Watchdog, WatchdogObserverEvents, WatchdogPolicyOptions } from '../../src/index.js';
import { createWatchdog } from '../../src/watchdog.js';
import { createFakeTransport, type FakeWebRtcTransport } from '../helpers/fake-transport.js';
import { ManualClock } from '../helpers/manual-clock.js';

type Recorded = { [K in keyof WatchdogObserverEvents]: [K, WatchdogObserverEvents[K]] }[keyof WatchdogObserverEvents];

const EVENTS = ['watch', 'statechange', 'connect', 'close', 'icerestart', 'listenererror'] as const;

const watchdogs: Watchdog[] = [];
afterEach(() => {
	for (const watchdog of watchdogs.splice(0)) watchdog.stop();
});

function setup(policy: WatchdogPolicyOptions = {}): { clock: ManualClock; watchdog: Watchdog; events: Recorded[] } {
	const clock = new ManualClock();
	const watchdog = createWatchdog({ inactivityTimeoutMs: Number.POSITIVE_INFINITY, ...policy }, { clock });
	watchdogs.push(watchdog);
	const events: Recorded[] = [];
	const record = <K extends keyof WatchdogObserverEvents>(event: K): void => {
		watchdog.observer.on(event, (payload) => events.push([event, payload] as Recorded));
	};
	for (const event of EVENTS) record(event);
	return { clock, watchdog, events };
}

function transportOf(userId: string): FakeWebRtcTransport<{ userId: string }> {
	return createFakeTransport({ appData: { userId } }).transport;
}

describe('watchdog.observer', () => {
	it('reports a watch from creation to close: watch, state changes, connect, restart decisions and the close with its reason', async () => {
		const { clock, watchdog, events } = setup({
			iceRestart: { perUser: { limit: 1, windowMs: 60_000 }, reconnectTimeoutMs: 2_000 },
		});
		const t = transportOf('alice');
		const watch = watchdog.watch(t);
		await clock.advance(250);
		t.connectClient();
		const iceParameters = await watch.restartIce();
		const denied = await watch.restartIce().catch((error: unknown) => error);
		t.emitSelectedTuple(); // the client followed the restart from a new port
		watch.close('kicked');

		const id = t.id;
		expect(events).toEqual([
			['watch', { transportId: id, userId: 'alice' }],
			['statechange', { transportId: id, from: 'connecting', to: 'connected' }],
			['connect', { transportId: id, timeToConnectMs: 250 }],
			['statechange', { transportId: id, from: 'connected', to: 'restarting' }],
			['icerestart', { transportId: id, userId: 'alice', outcome: 'granted', iceParameters }],
			['icerestart', { transportId: id, userId: 'alice', outcome: 'denied', reason: 'rate-limited', retryAfterMs: 60_000 }],
			['statechange', { transportId: id, from: 'restarting', to: 'connected' }],
			['statechange', { transportId: id, from: 'connected', to: 'closed' }],
			['close', expect.objectContaining({ transportId: id, userId: 'alice', reason: 'app', clean: true, detail: 'kicked' })],
		]);
		expect(denied).toMatchObject({ name: 'IceRestartDeniedError', reason: 'rate-limited' });
	});

	it('reports a stop as a state change to stopped, never as a close', () => {
		const { watchdog, events } = setup();
		const t = transportOf('alice');
		watchdog.watch(t).stop();
		expect(events.map(([event]) => event)).toEqual(['watch', 'statechange']);
		expect(events[1]).toEqual(['statechange', { transportId: t.id, from: 'connecting', to: 'stopped' }]);
	});

	it('reports closes the watchdog causes and those it only records, each with its reason and detection time', async () => {
		const { clock, watchdog, events } = setup({ connectTimeoutMs: 5_000, disconnectGraceMs: 1_500, maxPendingPerUser: 10 });
		const never = transportOf('a');
		const vanished = transportOf('b');
		const notified = transportOf('c');
		const outside = transportOf('d');
		for (const t of [never, vanished, notified, outside]) watchdog.watch(t);
		for (const t of [vanished, notified, outside]) t.connectClient();
		vanished.emitIceState('disconnected');
		notified.clientCloseNotify();
		outside.close();
		await clock.advance(5_000);
		const closes = events.flatMap(([event, payload]) =>
			event === 'close' ? [[payload.transportId, payload.reason, payload.detectionMs, payload.closedByWatchdog]] : [],
		);
		expect(closes).toEqual([
			[notified.id, 'dtls-closed', 0, true],
			[outside.id, 'transport-closed', null, false],
			[vanished.id, 'ice-disconnected', 1_500, true],
			[never.id, 'connect-timeout', null, true],
		]);
	});

	it('turns a throwing listener into listenererror while the watch, the other listeners and the counts carry on', () => {
		const { watchdog, events } = setup();
		const boom = new Error('adapter bug');
		watchdog.observer.on('connect', () => {
			throw boom;
		});
		const t = transportOf('alice');
		const watch = watchdog.watch(t);
		const appConnects: number[] = [];
		watch.on('connect', ({ timeToConnectMs }) => appConnects.push(timeToConnectMs));
		t.connectClient();

		expect(events.filter(([event]) => event === 'listenererror')).toEqual([['listenererror', { event: 'connect', error: boom }]]);
		// the recording listener, added before the throwing one, and one added after both still ran
		expect(events.filter(([event]) => event === 'connect')).toHaveLength(1);
		expect(watch.state).toBe('connected');
		expect(appConnects).toEqual([0]);
		expect(watchdog.snapshot().transports.connected).toBe(1);
		expect(t.allListenerErrors()).toEqual([]);
	});

	it('calls every listener even when an earlier one throws, and only logs a throwing listenererror listener', () => {
		const { watchdog } = setup();
		const seen: string[] = [];
		watchdog.observer.on('watch', () => {
			throw new Error('first');
		});
		watchdog.observer.on('watch', ({ transportId }) => seen.push(transportId));
		watchdog.observer.on('listenererror', () => {
			seen.push('listenererror');
			throw new Error('and the error handler too');
		});
		const t = transportOf('alice');
		const watch = watchdog.watch(t);
		expect(seen).toEqual(['listenererror', t.id]);
		expect(watch.state).toBe('connecting');
	});

	it('keeps observer listeners apart from the events of each watch', () => {
		const { watchdog } = setup();
		const t = transportOf('alice');
		const watch = watchdog.watch(t);
		expect(watch.listenerCount()).toBe(0);
		const before = watchdog.observer.listenerCount();
		const listener = (): void => {};
		watchdog.observer.on('close', listener);
		expect(watchdog.observer.listenerCount('close')).toBe(2);
		watchdog.observer.off('close', listener);
		expect(watchdog.observer.listenerCount()).toBe(before);
		watch.close();
		expect(watch.listenerCount()).toBe(0);
	});
});
