// watchdog.observer's `watchlistenererror`: a listener the app added on a watch threw. The watch
// still turns it into its own `listenererror` and carries on; the observer hears of it too, with
// the transport, the user, the event and the error, once per throw, and never in a loop, whatever
// the observer's own listeners throw.
import { afterEach, describe, expect, it } from 'vitest';
import type { Watchdog, WatchdogObserverEvents, WatchListenerErrorEvent } from '../../src/index.js';
import { createWatchdog } from '../../src/watchdog.js';
import { createFakeTransport, type FakeWebRtcTransport } from '../helpers/fake-transport.js';
import { flushPromises, ManualClock } from '../helpers/manual-clock.js';

const watchdogs: Watchdog[] = [];
afterEach(() => {
	for (const watchdog of watchdogs.splice(0)) watchdog.stop();
});

function setup(): { clock: ManualClock; watchdog: Watchdog; forwarded: WatchListenerErrorEvent[] } {
	const clock = new ManualClock();
	const watchdog = createWatchdog({ inactivityTimeoutMs: Number.POSITIVE_INFINITY }, { clock });
	watchdogs.push(watchdog);
	const forwarded: WatchListenerErrorEvent[] = [];
	watchdog.observer.on('watchlistenererror', (event) => forwarded.push(event));
	return { clock, watchdog, forwarded };
}

function transportOf(userId: string): FakeWebRtcTransport<{ userId: string }> {
	return createFakeTransport({ appData: { userId } }).transport;
}

describe('watchdog.observer `watchlistenererror`', () => {
	it('reports a throwing app listener on a watch with its transport, user, event and error, just before the watch’s own listenererror', () => {
		const { watchdog, forwarded } = setup();
		const order: string[] = [];
		watchdog.observer.on('watchlistenererror', ({ event }) => order.push(`observer:${event}`));
		const t = transportOf('alice');
		const watch = watchdog.watch(t);
		const boom = new Error('app bug');
		const connects: number[] = [];
		watch.on('connect', () => {
			throw boom;
		});
		watch.on('connect', ({ timeToConnectMs }) => connects.push(timeToConnectMs));
		watch.on('listenererror', ({ event }) => order.push(`watch:${event}`));
		t.connectClient();

		expect(forwarded).toEqual([{ transportId: t.id, userId: 'alice', event: 'connect', error: boom }]);
		expect(order).toEqual(['observer:connect', 'watch:connect']);
		// The other listener still ran and the watch carried on.
		expect(connects).toEqual([0]);
		expect(watch.state).toBe('connected');
		expect(watchdog.snapshot().transports.connected).toBe(1);
		expect(t.allListenerErrors()).toEqual([]);
	});

	it('reports every event of a watch, a throwing `close` listener after the end and a throwing `listenererror` listener included', async () => {
		const { watchdog, forwarded } = setup();
		const t = transportOf('bob');
		const watch = watchdog.watch(t);
		for (const event of ['connect', 'statechange', 'close', 'listenererror'] as const) {
			watch.on(event, () => {
				throw new Error(`${event} listener`);
			});
		}
		t.connectClient();
		watch.close('done');
		await flushPromises();

		expect(forwarded.map(({ event, error }) => [event, (error as Error).message])).toEqual([
			['statechange', 'statechange listener'],
			['listenererror', 'listenererror listener'],
			['connect', 'connect listener'],
			['listenererror', 'listenererror listener'],
			['statechange', 'statechange listener'],
			['listenererror', 'listenererror listener'],
			['close', 'close listener'],
			['listenererror', 'listenererror listener'],
		]);
		expect(new Set(forwarded.map(({ transportId, userId }) => `${transportId}/${userId}`))).toEqual(new Set([`${t.id}/bob`]));
		expect(watch.closeReason).toBe('app');
		expect(t.closed).toBe(true);
		expect(t.watchListenerCount()).toBe(0);
	});

	it('never loops: a throwing `watchlistenererror` listener becomes one observer listenererror, and a throwing observer listenererror listener is only logged', () => {
		const { watchdog, forwarded } = setup();
		const observerErrors: Array<WatchdogObserverEvents['listenererror']> = [];
		const adapterBug = new Error('adapter bug');
		watchdog.observer.on('watchlistenererror', () => {
			throw adapterBug;
		});
		watchdog.observer.on('listenererror', (event) => {
			observerErrors.push(event);
			throw new Error('and the error handler too');
		});
		const t = transportOf('carol');
		const watch = watchdog.watch(t);
		const appBug = new Error('app bug');
		watch.on('connect', () => {
			throw appBug;
		});
		const watchErrors: unknown[] = [];
		watch.on('listenererror', ({ error }) => watchErrors.push(error));
		t.connectClient();

		expect(forwarded).toEqual([{ transportId: t.id, userId: 'carol', event: 'connect', error: appBug }]);
		expect(observerErrors).toEqual([{ event: 'watchlistenererror', error: adapterBug }]);
		expect(watchErrors).toEqual([appBug]);
		expect(watch.state).toBe('connected');
	});

	it('ends when an observer listener closes the watch whose `close` listener throws: one report per throw', async () => {
		const { watchdog, forwarded } = setup();
		const t = transportOf('dave');
		const watch = watchdog.watch(t);
		let closes = 0;
		watchdog.observer.on('watchlistenererror', () => watch.close('listener failed'));
		watch.on('connect', () => {
			throw new Error('connect listener');
		});
		watch.on('close', () => {
			closes += 1;
			throw new Error('close listener');
		});
		// connectClient() up to DTLS `connected` (the transport is closed before ICE `completed`).
		t.emitSelectedTuple();
		t.emitIceState('connected');
		t.emitDtlsState('connecting');
		t.emitDtlsState('connected');
		await flushPromises();

		expect(forwarded.map(({ event }) => event)).toEqual(['connect', 'close']);
		expect(closes).toBe(1);
		expect(watch.closeReason).toBe('app');
		expect(t.closed).toBe(true);
	});

	it('reports nothing for the observer’s own listeners, and nothing while no app listener throws', () => {
		const { watchdog, forwarded } = setup();
		watchdog.observer.on('connect', () => {
			throw new Error('observer listener');
		});
		const t = transportOf('erin');
		const watch = watchdog.watch(t);
		watch.on('connect', () => {});
		t.connectClient();
		watch.close();
		expect(forwarded).toEqual([]);
	});
});
