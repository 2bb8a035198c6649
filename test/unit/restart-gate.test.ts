// The ICE-restart gate of `watch.restartIce()`: checks in order (closed → never connected → per-user
// limit), a per-user fixed window shared by every transport of the user, `retryAfterMs` exact to
// the millisecond under fake timers and an injected clock, single flight, the `icerestart` event
// for every decision, store failures, and the `restarting` state a granted restart opens.
import { describe, expect, it, vi } from 'vitest';
import {
	type CloseInfo,
	type ConsumeResult,
	definePolicy,
	IceRestartDeniedError,
	type IceRestartEvent,
	isIceRestartDeniedError,
	isIceRestartFailedError,
	MemoryStore,
	type PerUserLimit,
	type WatchableTransport,
	type WatchdogObserverEvents,
	type WatchdogPolicyOptions,
	type WatchdogStore,
	watchTransport,
} from '../../src/index.js';
import { createWatchdog } from '../../src/watchdog.js';
import { createFakeTransport, type FakeWebRtcTransport } from '../helpers/fake-transport.js';
import { fakeTimersClock as clock, useFakeTimers } from '../helpers/manual-clock.js';

type Fake = FakeWebRtcTransport<Record<string, unknown>>;

useFakeTimers({ now: 0 });

/** A MemoryStore whose calls are counted (and can be made to fail or wait). */
class SpyStore extends MemoryStore {
	consumeCalls: Array<{ userId: string; limit: PerUserLimit }> = [];
	consumeImpl: ((userId: string, limit: PerUserLimit) => Promise<ConsumeResult>) | undefined;

	override async consumeRestart(userId: string, limit: PerUserLimit): Promise<ConsumeResult> {
		this.consumeCalls.push({ userId, limit });
		if (this.consumeImpl) return this.consumeImpl(userId, limit);
		return super.consumeRestart(userId, limit);
	}
}

const QUIET: WatchdogPolicyOptions = {
	// Only the rules under test may close a transport (liveness and the deadline have their own tests).
	inactivityTimeoutMs: Number.POSITIVE_INFINITY,
	connectTimeoutMs: Number.POSITIVE_INFINITY,
};

function setup(overrides: WatchdogPolicyOptions = {}) {
	const store = new SpyStore(clock);
	const watchdog = createWatchdog({ ...QUIET, store, ...overrides }, { clock });
	const decisions: Array<WatchdogObserverEvents['icerestart']> = [];
	watchdog.observer.on('icerestart', (event) => decisions.push(event));
	const add = (userId = 'alice', { connect = true }: { connect?: boolean } = {}) => {
		const { transport } = createFakeTransport({ appData: { userId } });
		const watch = watchdog.watch(transport as Fake & WatchableTransport);
		const events: IceRestartEvent[] = [];
		watch.on('icerestart', (event) => events.push(event));
		if (connect) transport.connectClient();
		return { transport, watch, events };
	};
	return { store, watchdog, decisions, add };
}

/** The rejection of `promise` (fails the test when it resolves). */
async function rejectionOf(promise: Promise<unknown>): Promise<IceRestartDeniedError> {
	try {
		await promise;
	} catch (error) {
		return error as IceRestartDeniedError;
	}
	throw new Error('expected restartIce() to be denied, but it was granted');
}

describe('order of checks', () => {
	it('denies a closed watch with `closed` before looking at anything else, without asking the store', async () => {
		const { add, store, decisions } = setup();
		const { watch, transport } = add('alice', { connect: false }); // never connected, too
		watch.close();
		const error = await rejectionOf(watch.restartIce());
		expect(error).toBeInstanceOf(IceRestartDeniedError);
		expect(error).toMatchObject({ name: 'IceRestartDeniedError', reason: 'closed', retryAfterMs: null, userId: 'alice' });
		expect(error.message).toBe(`restartIce() denied [transportId:${transport.id}, reason:closed]`);
		expect(store.consumeCalls).toEqual([]);
		expect(transport.restartIceCalls).toBe(0);
		expect(decisions).toEqual([
			{ transportId: transport.id, userId: 'alice', outcome: 'denied', reason: 'closed', retryAfterMs: null },
		]);
	});

	it('denies a stopped watch with `closed` and leaves the transport alone', async () => {
		const { add } = setup();
		const { watch, transport } = add();
		watch.stop();
		expect((await rejectionOf(watch.restartIce())).reason).toBe('closed');
		expect(transport.restartIceCalls).toBe(0);
		expect(transport.closed).toBe(false);
	});

	it('denies a watch whose transport never reached DTLS connected with `never-connected`, and spends nothing of the user’s allowance', async () => {
		const { add, store } = setup();
		const pending = add('alice', { connect: false });
		pending.transport.emitIceState('connected'); // ICE alone is not enough: DTLS must have connected
		pending.transport.emitDtlsState('connecting');
		const error = await rejectionOf(pending.watch.restartIce());
		expect(error).toMatchObject({ reason: 'never-connected', retryAfterMs: null, transportId: pending.transport.id });
		expect(pending.events).toEqual([{ outcome: 'denied', reason: 'never-connected', retryAfterMs: null }]);
		expect(store.consumeCalls).toEqual([]);
		expect(pending.transport.restartIceCalls).toBe(0);
		// The allowance (1 per window) is intact: another transport of alice gets it.
		const connected = add('alice');
		expect(await connected.watch.restartIce()).toEqual(connected.transport.iceParameters);
	});

	it('checks `never-connected` before the store, so a failing store is never reached for it', async () => {
		const { add, store } = setup();
		store.consumeImpl = () => Promise.reject(new Error('store down'));
		const { watch } = add('alice', { connect: false });
		expect((await rejectionOf(watch.restartIce())).reason).toBe('never-connected');
		expect(store.consumeCalls).toEqual([]);
	});

	it('checks `closed` before `never-connected`', async () => {
		const { add } = setup();
		const { watch } = add('alice', { connect: false });
		watch.close();
		expect((await rejectionOf(watch.restartIce())).reason).toBe('closed');
	});

	it('asks the per-user limit last, once the watch is open and has connected once', async () => {
		const { add, store } = setup();
		const { watch, transport } = add();
		const iceParameters = await watch.restartIce();
		expect(store.consumeCalls).toEqual([{ userId: 'alice', limit: { limit: 1, windowMs: 20_000 } }]);
		expect(transport.restartIceCalls).toBe(1);
		expect(iceParameters).toEqual(transport.iceParameters);
		expect(iceParameters.usernameFragment).toBe(`${transport.id}-ufrag-1`);
	});

	it('lets `requireConnectedOnce: false` restart a never-connected transport, which stays `connecting`', async () => {
		const { add } = setup({ iceRestart: { requireConnectedOnce: false } });
		const { watch, transport, events } = add('alice', { connect: false });
		expect(await watch.restartIce()).toEqual(transport.iceParameters);
		expect(watch.state).toBe('connecting');
		expect(events).toEqual([{ outcome: 'granted', iceParameters: transport.iceParameters }]);
	});

	it('denies with `closed` when the watch closes while the store is deciding, and never calls mediasoup', async () => {
		const { add, store } = setup();
		let answer!: (result: ConsumeResult) => void;
		store.consumeImpl = () => new Promise((resolve) => (answer = resolve));
		const { watch, transport } = add();
		const request = watch.restartIce();
		await vi.advanceTimersByTimeAsync(0);
		watch.close('the user left');
		answer({ allowed: true, retryAfterMs: 0 });
		expect((await rejectionOf(request)).reason).toBe('closed');
		expect(transport.restartIceCalls).toBe(0);
	});

	it('rejects with IceRestartFailedError (not a denial) when mediasoup itself fails', async () => {
		const { add } = setup();
		const { watch, transport } = add();
		transport.restartIceImpl = () => Promise.reject(new Error('request timeout'));
		const error = await watch.restartIce().catch((e: unknown) => e);
		expect(isIceRestartFailedError(error)).toBe(true);
		expect(isIceRestartDeniedError(error)).toBe(false);
		expect((error as Error).message).toBe(`restartIce() failed in mediasoup [transportId:${transport.id}]: request timeout`);
		expect(watch.state).toBe('connected');
	});
});

describe('per-user limit', () => {
	it('is shared by every transport of the user, and no other user is affected', async () => {
		const { add } = setup({ iceRestart: { perUser: { limit: 2, windowMs: 20_000 } } });
		const a1 = add('alice');
		const a2 = add('alice');
		const a3 = add('alice');
		const b1 = add('bob');
		await expect(a1.watch.restartIce()).resolves.toBeDefined();
		await vi.advanceTimersByTimeAsync(1_000);
		await expect(a2.watch.restartIce()).resolves.toBeDefined();
		await vi.advanceTimersByTimeAsync(500);
		const third = await rejectionOf(a3.watch.restartIce());
		expect(third).toMatchObject({ reason: 'rate-limited', retryAfterMs: 18_500, userId: 'alice' });
		const again = await rejectionOf(a1.watch.restartIce());
		expect(again).toMatchObject({ reason: 'rate-limited', retryAfterMs: 18_500 });
		await expect(b1.watch.restartIce()).resolves.toBeDefined();
		expect(a3.transport.restartIceCalls).toBe(0);
	});

	it('is shared by transports watched with watchTransport() and the same policy object, not across policies', async () => {
		const policy = definePolicy({ ...QUIET });
		const other = definePolicy({ ...QUIET });
		const watched = [policy, policy, other].map((p) => {
			const { transport } = createFakeTransport({ appData: { userId: 'carol' } });
			const watch = watchTransport(transport as Fake & WatchableTransport, p);
			transport.connectClient();
			return { transport, watch };
		});
		const [first, second, third] = watched as [(typeof watched)[0], (typeof watched)[0], (typeof watched)[0]];
		await expect(first.watch.restartIce()).resolves.toBeDefined();
		expect((await rejectionOf(second.watch.restartIce())).reason).toBe('rate-limited');
		await expect(third.watch.restartIce()).resolves.toBeDefined();
		for (const { watch } of watched) watch.close();
	});

	it('reports `retryAfterMs` to the millisecond: the time left in the window', async () => {
		const { add } = setup(); // 1 per 20 000 ms
		const first = add('alice');
		const second = add('alice');
		await vi.advanceTimersByTimeAsync(2_000);
		await first.watch.restartIce(); // window opens at t = 2 000
		await vi.advanceTimersByTimeAsync(7_345);
		const error = await rejectionOf(second.watch.restartIce());
		expect(error.retryAfterMs).toBe(12_655);
		expect(error.message).toBe(
			`restartIce() denied [transportId:${second.transport.id}, reason:rate-limited, retryAfterMs:12655]`,
		);
		expect(second.events).toEqual([{ outcome: 'denied', reason: 'rate-limited', retryAfterMs: 12_655 }]);
	});

	it('opens a new window exactly `windowMs` after the first restart: denied 1 ms before with retryAfterMs 1, granted at it', async () => {
		const { add } = setup();
		const first = add('alice');
		const second = add('alice');
		await first.watch.restartIce(); // t = 0
		await vi.advanceTimersByTimeAsync(19_999);
		expect((await rejectionOf(second.watch.restartIce())).retryAfterMs).toBe(1);
		await vi.advanceTimersByTimeAsync(1);
		expect(await second.watch.restartIce()).toEqual(second.transport.iceParameters);
	});

	it('uses fixed windows from the first restart, like rate-limiter-flexible: limit 3 within 20 s', async () => {
		const { add } = setup({
			iceRestart: { perUser: { limit: 3, windowMs: 20_000 }, reconnectTimeoutMs: Number.POSITIVE_INFINITY },
		});
		const watches = [add(), add(), add(), add()];
		const [w0, w1, w2, w3] = watches as [(typeof watches)[0], (typeof watches)[0], (typeof watches)[0], (typeof watches)[0]];
		await w0.watch.restartIce(); // t = 0: window [0, 20 000)
		await vi.advanceTimersByTimeAsync(5_000);
		await w1.watch.restartIce();
		await vi.advanceTimersByTimeAsync(5_000);
		await w2.watch.restartIce();
		await vi.advanceTimersByTimeAsync(2_000);
		expect((await rejectionOf(w3.watch.restartIce())).retryAfterMs).toBe(8_000); // t = 12 000
		await vi.advanceTimersByTimeAsync(8_000);
		await expect(w3.watch.restartIce()).resolves.toBeDefined(); // t = 20 000: a new window
	});

	it('rounds `retryAfterMs` up to whole milliseconds under a fractional clock', async () => {
		const store = new MemoryStore({ ...clock, now: () => Date.now() + 0.25 });
		const { add } = setup({ store });
		const first = add();
		const second = add();
		await first.watch.restartIce();
		await vi.advanceTimersByTimeAsync(10_000);
		const error = await rejectionOf(second.watch.restartIce());
		expect(error.retryAfterMs).toBe(10_000);
		expect(Number.isInteger(error.retryAfterMs)).toBe(true);
	});

	it('is off with `perUser: false`: every restart of a connected transport is granted', async () => {
		const { add, store } = setup({ iceRestart: { perUser: false }, maxPendingPerUser: Number.POSITIVE_INFINITY });
		const { watch, transport } = add();
		for (let i = 0; i < 5; i++) await watch.restartIce();
		expect(transport.restartIceCalls).toBe(5);
		expect(store.consumeCalls).toEqual([]);
	});

	it('needs a user: watching a transport without one fails at watch time with a clear TypeError', () => {
		const { watchdog } = setup();
		const { transport } = createFakeTransport({ appData: {} });
		expect(() => watchdog.watch(transport as Fake & WatchableTransport)).toThrow(TypeError);
		expect(() => watchdog.watch(transport as Fake & WatchableTransport)).toThrow(
			/cannot tell which user owns transport \[transportId:.+\]: per-user limits need one/,
		);
		const unlimited = createWatchdog({ ...QUIET, iceRestart: { perUser: false }, maxPendingPerUser: Number.POSITIVE_INFINITY });
		expect(unlimited.watch(transport as Fake & WatchableTransport).userId).toBeUndefined();
	});

	it('takes the user from the policy’s `userId()` or the watch options, as a string', async () => {
		const { watchdog } = setup();
		const one = createFakeTransport({ appData: { owner: 7 } }).transport;
		const two = createFakeTransport({ appData: {} }).transport;
		const custom = createWatchdog({ ...QUIET, userId: (t) => (t.appData as { owner?: number }).owner }, { clock });
		const w1 = custom.watch(one as Fake & WatchableTransport);
		const w2 = watchdog.watch(two as Fake & WatchableTransport, { userId: 7 });
		expect(w1.userId).toBe('7');
		expect(w2.userId).toBe('7');
	});
});

describe('single flight', () => {
	it('makes 1 000 concurrent calls on one watch share one decision and one mediasoup call', async () => {
		const { add, store, decisions } = setup();
		const { watch, transport, events } = add();
		const calls = Array.from({ length: 1_000 }, () => watch.restartIce());
		expect(new Set(calls).size).toBe(1);
		const results = await Promise.all(calls);
		expect(store.consumeCalls).toHaveLength(1);
		expect(transport.restartIceCalls).toBe(1);
		expect(new Set(results.map((p) => p.usernameFragment))).toEqual(new Set([transport.iceParameters.usernameFragment]));
		expect(events).toHaveLength(1);
		expect(decisions).toHaveLength(1);
	});

	it('makes concurrent calls share one denial: one error, one event', async () => {
		const { add } = setup();
		const first = add();
		const second = add();
		await first.watch.restartIce();
		const calls = Array.from({ length: 50 }, () => second.watch.restartIce());
		const errors = await Promise.all(calls.map(rejectionOf));
		expect(new Set(errors).size).toBe(1);
		expect(errors[0]?.reason).toBe('rate-limited');
		expect(second.events).toHaveLength(1);
	});

	it('asks again once the shared call has settled', async () => {
		const { add, store } = setup();
		const { watch, transport } = add();
		await watch.restartIce();
		const error = await rejectionOf(watch.restartIce());
		expect(error.reason).toBe('rate-limited');
		expect(store.consumeCalls).toHaveLength(2);
		expect(transport.restartIceCalls).toBe(1);
	});

	it('lets exactly `limit` of 1 000 concurrent calls spread over 10 transports of one user reach mediasoup', async () => {
		const { add } = setup({ iceRestart: { perUser: { limit: 3, windowMs: 20_000 } }, maxPendingPerUser: 100 });
		const watched = Array.from({ length: 10 }, () => add('alice'));
		const calls = Array.from({ length: 1_000 }, (_, i) => {
			const target = watched[i % watched.length];
			if (!target) throw new Error('unreachable');
			return target.watch.restartIce().then(
				() => 'granted' as const,
				(error: unknown) => (isIceRestartDeniedError(error) ? error.reason : 'other'),
			);
		});
		const outcomes = await Promise.all(calls);
		const mediasoupCalls = watched.reduce((sum, { transport }) => sum + transport.restartIceCalls, 0);
		expect(mediasoupCalls).toBe(3);
		expect(watched.filter(({ transport }) => transport.restartIceCalls === 1)).toHaveLength(3);
		expect(outcomes.filter((o) => o === 'granted')).toHaveLength(300); // 3 watches × 100 shared calls
		expect(outcomes.filter((o) => o === 'rate-limited')).toHaveLength(700);
	});
});

describe('icerestart event', () => {
	it('is emitted for a granted restart, on the watch and on the watchdog observer, and counted in the snapshot', async () => {
		const { add, decisions, watchdog } = setup();
		const { watch, transport, events } = add();
		const iceParameters = await watch.restartIce();
		expect(events).toEqual([{ outcome: 'granted', iceParameters }]);
		expect(decisions).toEqual([{ transportId: transport.id, userId: 'alice', outcome: 'granted', iceParameters }]);
		expect(watchdog.snapshot().restarts).toEqual({ granted: 1, denied: {} });
	});

	it('is emitted for each kind of denial with its reason and retryAfterMs, and counted by reason', async () => {
		const { add, store, watchdog, decisions } = setup();
		const never = add('alice', { connect: false });
		const first = add('alice');
		const limited = add('alice');
		const failing = add('bob');
		await expect(never.watch.restartIce()).rejects.toThrow(IceRestartDeniedError);
		await first.watch.restartIce();
		await vi.advanceTimersByTimeAsync(3_000);
		await expect(limited.watch.restartIce()).rejects.toThrow(IceRestartDeniedError);
		store.consumeImpl = () => Promise.reject(new Error('ECONNREFUSED'));
		await expect(failing.watch.restartIce()).rejects.toThrow(IceRestartDeniedError);
		first.watch.close();
		await expect(first.watch.restartIce()).rejects.toThrow(IceRestartDeniedError);

		expect(never.events).toEqual([{ outcome: 'denied', reason: 'never-connected', retryAfterMs: null }]);
		expect(limited.events).toEqual([{ outcome: 'denied', reason: 'rate-limited', retryAfterMs: 17_000 }]);
		expect(failing.events).toEqual([{ outcome: 'denied', reason: 'store-unavailable', retryAfterMs: null }]);
		// A closed watch has no listeners left; the observer still sees the decision.
		expect(decisions.at(-1)).toEqual({
			transportId: first.transport.id,
			userId: 'alice',
			outcome: 'denied',
			reason: 'closed',
			retryAfterMs: null,
		});
		expect(watchdog.snapshot().restarts).toEqual({
			granted: 1,
			denied: { 'never-connected': 1, 'rate-limited': 1, 'store-unavailable': 1, closed: 1 },
		});
	});

	it('survives a throwing icerestart listener: the restart is still granted and the error goes to `listenererror`', async () => {
		const { add } = setup();
		const { watch } = add();
		const listenerErrors: unknown[] = [];
		watch.on('icerestart', () => {
			throw new Error('app bug');
		});
		watch.on('listenererror', ({ error }) => listenerErrors.push(error));
		await expect(watch.restartIce()).resolves.toBeDefined();
		expect(listenerErrors).toHaveLength(1);
		expect(watch.state).toBe('restarting');
	});
});

describe('store failure', () => {
	it('denies with `store-unavailable` by default, carrying the store’s error as `cause`', async () => {
		const { add, store } = setup();
		const down = new Error('connect ECONNREFUSED 127.0.0.1:6379');
		store.consumeImpl = () => Promise.reject(down);
		const { watch, transport } = add();
		const error = await rejectionOf(watch.restartIce());
		expect(error).toMatchObject({ reason: 'store-unavailable', retryAfterMs: null });
		expect(error.cause).toBe(down);
		expect(transport.restartIceCalls).toBe(0);
		expect(watch.state).toBe('connected');
	});

	it.each([
		['allow', { onStoreError: 'allow' }],
		['{ restart: allow }', { onStoreError: { restart: 'allow' } }],
	] as const)('grants the restart when the store fails and onStoreError is %s', async (_, options) => {
		const { add, store } = setup(options);
		store.consumeImpl = () => Promise.reject(new Error('down'));
		const { watch, transport } = add();
		expect(await watch.restartIce()).toEqual(transport.iceParameters);
		expect(watch.state).toBe('restarting');
	});

	it('treats a store that answers nonsense as a failing store', async () => {
		const { add, store } = setup();
		store.consumeImpl = () => Promise.resolve(undefined as unknown as ConsumeResult);
		const { watch } = add();
		const error = await rejectionOf(watch.restartIce());
		expect(error.reason).toBe('store-unavailable');
		expect(String((error.cause as Error).message)).toMatch(/must resolve with \{ allowed, retryAfterMs \}/);
	});

	it('turns a store’s missing or negative retryAfterMs into the whole window, never 0', async () => {
		const { add, store } = setup();
		store.consumeImpl = () => Promise.resolve({ allowed: false, retryAfterMs: -5 });
		const { watch } = add();
		expect((await rejectionOf(watch.restartIce())).retryAfterMs).toBe(20_000);
		store.consumeImpl = () => Promise.resolve({ allowed: false, retryAfterMs: Number.NaN });
		expect((await rejectionOf(watch.restartIce())).retryAfterMs).toBe(20_000);
		store.consumeImpl = () => Promise.resolve({ allowed: false, retryAfterMs: 1_234.2 });
		expect((await rejectionOf(watch.restartIce())).retryAfterMs).toBe(1_235);
	});

	it('never lets a custom store’s rejection escape as an unhandled rejection', async () => {
		const failing: WatchdogStore = {
			consumeRestart: () => Promise.reject(new Error('down')),
			addPending: () => Promise.reject(new Error('down')),
			removePending: () => Promise.reject(new Error('down')),
			countPending: () => Promise.reject(new Error('down')),
		};
		const { add } = setup({ store: failing });
		const { watch } = add();
		await expect(watch.restartIce()).rejects.toThrow(IceRestartDeniedError);
		watch.close();
		await vi.advanceTimersByTimeAsync(10);
	});
});

describe('the restarting state', () => {
	const RESTART: WatchdogPolicyOptions = {
		disconnectGraceMs: 3_000,
		iceRestart: { reconnectTimeoutMs: 10_000, perUser: false },
		maxPendingPerUser: Number.POSITIVE_INFINITY,
	};

	function restarting(overrides: WatchdogPolicyOptions = {}) {
		const { add } = setup({ ...RESTART, ...overrides });
		const { watch, transport } = add();
		const log: string[] = [];
		const reconnects: Array<{ afterMs: number; afterRestart: boolean }> = [];
		let closed: CloseInfo | undefined;
		watch.on('statechange', ({ from, to }) => log.push(`${from}→${to}`));
		watch.on('reconnect', (event) => reconnects.push(event));
		watch.on('close', (info) => {
			closed = info;
		});
		return { watch, transport, log, reconnects, closed: () => closed };
	}

	it('enters `restarting` on a granted restart and goes back to `connected` on a new selected tuple (Chromium), emitting reconnect', async () => {
		const { watch, transport, log, reconnects } = restarting();
		await watch.restartIce();
		expect(watch.state).toBe('restarting');
		await vi.advanceTimersByTimeAsync(230);
		transport.emitSelectedTuple({ remotePort: 61_000 });
		expect(watch.state).toBe('connected');
		expect(reconnects).toEqual([{ afterMs: 230, afterRestart: true }]);
		expect(log).toEqual(['connected→restarting', 'restarting→connected']);
		expect(vi.getTimerCount()).toBe(0);
	});

	it('suspends the disconnect grace: ICE `disconnected` during a restart (a TCP receive transport) does not close it', async () => {
		const { watch, transport, reconnects, closed } = restarting();
		await watch.restartIce();
		transport.emitIceState('disconnected');
		await vi.advanceTimersByTimeAsync(9_000); // far beyond disconnectGraceMs (3 000)
		expect(watch.state).toBe('restarting');
		expect(closed()).toBeUndefined();
		transport.emitIceState('connected');
		expect(watch.state).toBe('connected');
		expect(reconnects).toEqual([{ afterMs: 9_000, afterRestart: true }]);
	});

	it('rescues a `disconnected` transport: the grace timer stops and the reconnect counts from the restart', async () => {
		const { watch, transport, log, reconnects, closed } = restarting();
		transport.emitIceState('disconnected');
		await vi.advanceTimersByTimeAsync(2_000);
		await watch.restartIce();
		await vi.advanceTimersByTimeAsync(2_000); // the 3 000 ms grace would have ended here
		expect(closed()).toBeUndefined();
		transport.emitIceState('completed');
		expect(reconnects).toEqual([{ afterMs: 2_000, afterRestart: true }]);
		expect(log).toEqual(['connected→disconnected', 'disconnected→restarting', 'restarting→connected']);
	});

	it('does not take ICE `connected` → `completed` during a restart for a reconnection: ICE never went down', async () => {
		const { add } = setup({ ...RESTART });
		const { watch, transport } = add('alice', { connect: false });
		transport.emitIceState('connected');
		transport.emitSelectedTuple();
		transport.emitDtlsState('connecting');
		transport.emitDtlsState('connected');
		const reconnects: unknown[] = [];
		watch.on('reconnect', (event) => reconnects.push(event));
		await watch.restartIce();
		transport.emitIceState('completed'); // Chromium's nomination, on its own schedule
		expect(watch.state).toBe('restarting');
		expect(reconnects).toEqual([]);
		transport.emitSelectedTuple({ remotePort: 62_000 }); // the client's new ports
		expect(watch.state).toBe('connected');
		expect(reconnects).toHaveLength(1);
	});

	it('closes with `restart-timeout` exactly `reconnectTimeoutMs` after the grant when ICE is not back', async () => {
		const { watch, transport, closed } = restarting();
		await vi.advanceTimersByTimeAsync(500);
		await watch.restartIce();
		transport.emitIceState('disconnected');
		await vi.advanceTimersByTimeAsync(9_999);
		expect(watch.state).toBe('restarting');
		await vi.advanceTimersByTimeAsync(1);
		expect(closed()).toMatchObject({
			reason: 'restart-timeout',
			clean: false,
			closedByWatchdog: true,
			detectionMs: 10_000,
			detail: 'ICE did not reconnect within 10000 ms of the granted restart (iceState:disconnected)',
		});
		expect(transport.closed).toBe(true);
		expect(vi.getTimerCount()).toBe(0);
	});

	it('closes with `restart-timeout` when ICE still says connected but nothing arrived since the grant (a vanished client on mediasoup < 3.13.20)', async () => {
		const { watch, transport, closed } = restarting();
		transport.bytesReceived = 5_000;
		await watch.restartIce();
		await vi.advanceTimersByTimeAsync(10_000);
		expect(closed()).toMatchObject({
			reason: 'restart-timeout',
			detail: 'ICE did not reconnect within 10000 ms of the granted restart (iceState:completed, bytesReceived 5000 → 5000)',
		});
	});

	it('goes back to `connected` without a reconnect event when the client ignored the restart but is alive on the old credentials', async () => {
		const { watch, transport, log, reconnects, closed } = restarting();
		transport.bytesReceived = 5_000;
		await watch.restartIce();
		transport.bytesReceived = 5_420; // consent checks and RTCP keep coming
		await vi.advanceTimersByTimeAsync(10_000);
		expect(closed()).toBeUndefined();
		expect(watch.state).toBe('connected');
		expect(reconnects).toEqual([]);
		expect(log).toEqual(['connected→restarting', 'restarting→connected']);
	});

	it('closes with `restart-timeout` when stats fail at the deadline', async () => {
		const { watch, transport, closed } = restarting();
		await watch.restartIce();
		transport.getStatsImpl = () => Promise.reject(new Error('worker busy'));
		await vi.advanceTimersByTimeAsync(10_000);
		expect(closed()?.reason).toBe('restart-timeout');
		expect(closed()?.detail).toMatch(/stats unavailable/);
	});

	it('bounds a stuck getStats() at the deadline by 2 s on the injected clock', async () => {
		const { watch, transport, closed } = restarting();
		await watch.restartIce();
		transport.getStatsImpl = () => new Promise(() => {});
		await vi.advanceTimersByTimeAsync(10_000);
		expect(watch.state).toBe('restarting');
		await vi.advanceTimersByTimeAsync(2_000);
		expect(closed()?.reason).toBe('restart-timeout');
	});

	it('lets a newer granted restart win over the deadline of an older one still reading stats', async () => {
		const { watch, transport, closed, log } = restarting();
		await watch.restartIce();
		let answerStats!: (value: Awaited<ReturnType<Fake['getStats']>>) => void;
		transport.getStatsImpl = () => new Promise((resolve) => (answerStats = resolve));
		await vi.advanceTimersByTimeAsync(10_000); // the first deadline is waiting for stats
		transport.getStatsImpl = undefined;
		await watch.restartIce(); // a second restart: a new 10 s deadline
		answerStats([]); // the first deadline's stats come back empty: it must not act any more
		await vi.advanceTimersByTimeAsync(5_000);
		expect(closed()).toBeUndefined();
		expect(watch.state).toBe('restarting');
		transport.emitSelectedTuple();
		expect(log).toEqual(['connected→restarting', 'restarting→connected']);
	});

	it('stays `restarting` until ICE is back when `reconnectTimeoutMs` is Infinity', async () => {
		const { watch, transport, closed } = restarting({
			iceRestart: { reconnectTimeoutMs: Number.POSITIVE_INFINITY, perUser: false },
		});
		await watch.restartIce();
		transport.emitIceState('disconnected');
		await vi.advanceTimersByTimeAsync(3_600_000);
		expect(watch.state).toBe('restarting');
		expect(closed()).toBeUndefined();
		expect(vi.getTimerCount()).toBe(0);
	});

	it('clears the reconnect timer and listeners when the watch closes during a restart', async () => {
		const { watch, transport } = restarting();
		await watch.restartIce();
		watch.close();
		expect(vi.getTimerCount()).toBe(0);
		expect(transport.watchListenerCount()).toBe(0);
	});
});
