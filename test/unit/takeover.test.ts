// Takeover across nodes (policy `takeover`): bindSession() on one watchdog closes the user's
// transports on every other watchdog of the channel with `superseded` (clean), leaves the
// announcing watchdog's and other users' transports alone, reports a failing channel on the
// observer's `storeerror` without closing anything, and unsubscribes on stop().
import { afterEach, describe, expect, it } from 'vitest';
import {
	type CloseInfo,
	definePolicy,
	type TakeoverChannel,
	type WatchableTransport,
	type Watchdog,
	type WatchdogObserverEvents,
} from '../../src/index.js';
import { createWatchdog } from '../../src/watchdog.js';
import { createFakeTransport, type FakeWebRtcTransport } from '../helpers/fake-transport.js';
import { flushPromises } from '../helpers/manual-clock.js';

/** An in-process channel: what a Redis PUBLISH reaches, every subscriber gets. */
class Bus implements TakeoverChannel {
	readonly listeners = new Set<(userId: string, origin: string) => void>();
	failure: Error | undefined;
	async announce(userId: string, origin: string): Promise<void> {
		if (this.failure) throw this.failure;
		for (const listener of [...this.listeners]) listener(userId, origin);
	}
	subscribe(listener: (userId: string, origin: string) => void): () => void {
		this.listeners.add(listener);
		return () => this.listeners.delete(listener);
	}
}

const watchdogs: Watchdog[] = [];
afterEach(() => {
	for (const watchdog of watchdogs.splice(0)) watchdog.stop();
});

function node(bus: TakeoverChannel | false) {
	const watchdog = createWatchdog({ takeover: bus, maxPendingPerUser: Number.POSITIVE_INFINITY });
	watchdogs.push(watchdog);
	const closes: CloseInfo[] = [];
	const errors: Array<WatchdogObserverEvents['storeerror']> = [];
	watchdog.observer.on('close', (info) => closes.push(info));
	watchdog.observer.on('storeerror', (event) => errors.push(event));
	const connect = (userId: string) => {
		const { transport } = createFakeTransport({ appData: { userId } });
		const watch = watchdog.watch(transport as FakeWebRtcTransport<Record<string, unknown>> & WatchableTransport);
		transport.connectClient();
		return { transport, watch };
	};
	return { watchdog, closes, errors, connect };
}

describe('takeover across nodes', () => {
	it("closes the user's transports on the other node with superseded (clean), and nothing else", async () => {
		const bus = new Bus();
		const a = node(bus);
		const b = node(bus);
		const alice1 = a.connect('alice');
		const alice2 = a.connect('alice');
		const bob = a.connect('bob');
		const aliceOnB = b.connect('alice');

		b.watchdog.bindSession('alice', new AbortController().signal);
		await flushPromises();

		for (const { watch, transport } of [alice1, alice2]) {
			expect(watch.state).toBe('closed');
			expect(watch.closeReason).toBe('superseded');
			expect(transport.closed).toBe(true);
		}
		expect(a.closes).toHaveLength(2);
		expect(a.closes[0]).toMatchObject({
			reason: 'superseded',
			clean: true,
			closedByWatchdog: true,
			userId: 'alice',
			detectionMs: null,
		});
		expect(bob.watch.state).toBe('connected');
		expect(aliceOnB.watch.state).toBe('connected'); // the announcing node's own transports stay
		expect(b.closes).toEqual([]);
		expect(a.errors).toEqual([]);
	});

	it('closes nothing and reports storeerror when the channel fails to announce', async () => {
		const bus = new Bus();
		const a = node(bus);
		const b = node(bus);
		const alice = a.connect('alice');
		bus.failure = new Error('redis down');
		b.watchdog.bindSession('alice', new AbortController().signal);
		await flushPromises();
		expect(alice.watch.state).toBe('connected');
		expect(b.errors).toEqual([{ operation: 'announceTakeover', userId: 'alice', error: bus.failure }]);
	});

	it('is off by default, and a stopped watchdog leaves the channel', async () => {
		const bus = new Bus();
		const a = node(bus);
		const off = createWatchdog({});
		watchdogs.push(off);
		off.bindSession('alice', new AbortController().signal);
		expect(bus.listeners.size).toBe(1);
		a.watchdog.stop();
		expect(bus.listeners.size).toBe(0);
	});

	it('refuses a takeover option that is not a channel, naming it', () => {
		expect(() => definePolicy({ takeover: {} as TakeoverChannel })).toThrow(TypeError);
		expect(() => definePolicy({ takeover: 'redis' as unknown as TakeoverChannel })).toThrow(
			/`takeover` must be false or a TakeoverChannel/,
		);
		expect(definePolicy({}).takeover).toBe(false);
		// `takeover: store.takeover` of a Redis store made without `subscriber`: refused, not silently off.
		expect(() => definePolicy({ takeover: undefined } as never)).toThrow(/`takeover` is undefined/);
	});
});
