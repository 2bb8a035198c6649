// `maxPendingPerUser`: how many never-connected transports one user may hold. `canCreate()` asks
// first; one more watched anyway is closed with `pending-limit` and a detail that says why; DTLS
// connected or the end of a watch gives its slot back; a failing store follows `onStoreError`.
import { describe, expect, it, vi } from 'vitest';
import {
	type CloseInfo,
	MemoryStore,
	type TransportWatch,
	type WatchableTransport,
	type WatchdogPolicyOptions,
	type WatchdogStore,
} from '../../src/index.js';
import { createWatchdog } from '../../src/watchdog.js';
import { createFakeTransport, type FakeWebRtcTransport } from '../helpers/fake-transport.js';
import { fakeTimersClock as clock, useFakeTimers } from '../helpers/manual-clock.js';

type Fake = FakeWebRtcTransport<Record<string, unknown>>;

useFakeTimers({ now: 0 });

/** A MemoryStore that records its pending calls and can be made to fail. */
class SpyStore extends MemoryStore {
	calls: string[] = [];
	fail: { add?: Error; remove?: Error; count?: Error } = {};

	override async addPending(userId: string, transportId: string, ttlMs: number): Promise<number> {
		this.calls.push(`add ${userId} ttl:${ttlMs}`);
		if (this.fail.add) throw this.fail.add;
		return super.addPending(userId, transportId, ttlMs);
	}

	override async removePending(userId: string, transportId: string): Promise<void> {
		this.calls.push(`remove ${userId}`);
		if (this.fail.remove) throw this.fail.remove;
		return super.removePending(userId, transportId);
	}

	override async countPending(userId: string): Promise<number> {
		this.calls.push(`count ${userId}`);
		if (this.fail.count) throw this.fail.count;
		return super.countPending(userId);
	}
}

function setup(overrides: WatchdogPolicyOptions = {}) {
	const store = new SpyStore(clock);
	const watchdog = createWatchdog(
		{ inactivityTimeoutMs: Number.POSITIVE_INFINITY, connectTimeoutMs: 15_000, store, ...overrides },
		{ clock },
	);
	const closes: CloseInfo[] = [];
	watchdog.observer.on('close', (info) => closes.push(info));
	const add = (userId = 'alice') => {
		const { transport } = createFakeTransport({ appData: { userId } });
		const watch = watchdog.watch(transport as Fake & WatchableTransport) as TransportWatch<Fake & WatchableTransport>;
		return { transport, watch };
	};
	/** Lets the store's promises settle. */
	const settle = () => vi.advanceTimersByTimeAsync(0);
	return { store, watchdog, closes, add, settle };
}

describe('canCreate', () => {
	it('says yes until the user holds maxPendingPerUser never-connected transports, then no; other users are apart', async () => {
		const { watchdog, add, settle } = setup(); // default cap: 4
		for (let i = 0; i < 4; i++) {
			expect(await watchdog.canCreate('alice')).toBe(true);
			add('alice');
			await settle();
		}
		expect(await watchdog.canCreate('alice')).toBe(false);
		expect(await watchdog.canCreate('bob')).toBe(true);
	});

	it('accepts a numeric user id as the same user as its string', async () => {
		const { watchdog, add, settle } = setup({ maxPendingPerUser: 1 });
		add('42');
		await settle();
		expect(await watchdog.canCreate(42)).toBe(false);
	});

	it('always says yes, without asking the store, when the cap is off', async () => {
		const { watchdog, add, store, settle, closes } = setup({ maxPendingPerUser: Number.POSITIVE_INFINITY });
		for (let i = 0; i < 20; i++) add('alice');
		await settle();
		expect(await watchdog.canCreate('alice')).toBe(true);
		expect(store.calls).toEqual([]);
		expect(closes).toEqual([]);
	});

	it('rejects a user id that is neither a string nor a number with a TypeError', async () => {
		const { watchdog } = setup();
		await expect(watchdog.canCreate({} as unknown as string)).rejects.toThrow(
			new TypeError('canCreate() `userId` must be a non-empty string or a finite number, got object'),
		);
		await expect(watchdog.canCreate('')).rejects.toThrow(
			new TypeError('canCreate() `userId` must be a non-empty string or a finite number, got ""'),
		);
		// A failed parse must not make all such users one user "NaN".
		await expect(watchdog.canCreate(Number.NaN)).rejects.toThrow(
			new TypeError('canCreate() `userId` must be a non-empty string or a finite number, got NaN'),
		);
	});

	it('gives closeUser() and watchesOf() the same TypeError, even for an object String() cannot convert', () => {
		const { watchdog } = setup();
		const unprintable = { toString: false } as unknown as string;
		expect(() => watchdog.closeUser(unprintable)).toThrow(
			new TypeError('closeUser() `userId` must be a non-empty string or a finite number, got object'),
		);
		expect(() => watchdog.watchesOf(unprintable)).toThrow(
			new TypeError('watchesOf() `userId` must be a non-empty string or a finite number, got object'),
		);
	});

	it('answers per onStoreError.pending when the store fails: allow by default, deny when asked', async () => {
		const allowing = setup();
		allowing.store.fail.count = new Error('down');
		expect(await allowing.watchdog.canCreate('alice')).toBe(true);
		const denying = setup({ onStoreError: { pending: 'deny' } });
		denying.store.fail.count = new Error('down');
		expect(await denying.watchdog.canCreate('alice')).toBe(false);
	});
});

describe('the cap', () => {
	it('closes the one over the cap with `pending-limit` and a detail that says why; the others stay', async () => {
		const { add, settle, closes } = setup({ maxPendingPerUser: 2 });
		const first = add();
		const second = add();
		const third = add();
		const seen: CloseInfo[] = [];
		third.watch.on('close', (info) => seen.push(info));
		await settle();
		expect(first.watch.state).toBe('connecting');
		expect(second.watch.state).toBe('connecting');
		expect(third.watch.state).toBe('closed');
		expect(third.transport.closed).toBe(true);
		expect(seen).toEqual([closes[0]]);
		expect(seen[0]).toMatchObject({
			reason: 'pending-limit',
			clean: false,
			closedByWatchdog: true,
			userId: 'alice',
			transportId: third.transport.id,
			connectedOnce: false,
			detail:
				'user alice already holds 2 never-connected transports (maxPendingPerUser: 2); ask watchdog.canCreate(userId) before creating one',
		});
		expect(third.transport.watchListenerCount()).toBe(0);
	});

	it('holds a user creating transports in a loop at the cap: of 100, exactly the first 4 stay', async () => {
		const { add, settle, closes, watchdog } = setup();
		const all = Array.from({ length: 100 }, () => add('mallory'));
		await settle();
		expect(all.filter(({ watch }) => watch.state === 'connecting').map(({ transport }) => transport)).toEqual(
			all.slice(0, 4).map(({ transport }) => transport),
		);
		expect(closes).toHaveLength(96);
		expect(new Set(closes.map((c) => c.reason))).toEqual(new Set(['pending-limit']));
		expect(all.slice(4).every(({ transport }) => transport.closed)).toBe(true);
		expect(watchdog.snapshot().closes).toEqual({ 'pending-limit': 96 });
		expect(await watchdog.canCreate('mallory')).toBe(false);
		expect(await watchdog.canCreate('alice')).toBe(true);
	});

	it('says "transport" for a cap of 1 and closes every never-connected transport with a cap of 0', async () => {
		const one = setup({ maxPendingPerUser: 1 });
		one.add();
		const over = one.add();
		await one.settle();
		expect((await over.watch.closed).detail).toMatch(/^user alice already holds 1 never-connected transport \(/);
		const zero = setup({ maxPendingPerUser: 0 });
		const none = zero.add();
		await zero.settle();
		expect((await none.watch.closed).reason).toBe('pending-limit');
	});

	it('gives the slot back when a transport connects', async () => {
		const { add, settle, watchdog } = setup({ maxPendingPerUser: 1 });
		const first = add();
		await settle();
		expect(await watchdog.canCreate('alice')).toBe(false);
		first.transport.connectClient();
		await settle();
		expect(await watchdog.canCreate('alice')).toBe(true);
		const second = add();
		await settle();
		expect(second.watch.state).toBe('connecting');
		expect(first.watch.state).toBe('connected');
	});

	it.each([
		['the app closes it', (w: TransportWatch<Fake & WatchableTransport>) => w.close()],
		['the transport is closed outside the watchdog', (w: TransportWatch<Fake & WatchableTransport>) => w.transport?.close()],
		['the watch is stopped', (w: TransportWatch<Fake & WatchableTransport>) => w.stop()],
	])('gives the slot back when %s', async (_, end) => {
		const { add, settle, watchdog } = setup({ maxPendingPerUser: 1 });
		const { watch } = add();
		await settle();
		expect(await watchdog.canCreate('alice')).toBe(false);
		end(watch);
		await settle();
		expect(await watchdog.canCreate('alice')).toBe(true);
	});

	it('gives the slot back at the connect deadline', async () => {
		const { add, settle, watchdog } = setup({ maxPendingPerUser: 1, connectTimeoutMs: 5_000 });
		const { watch } = add();
		await settle();
		await vi.advanceTimersByTimeAsync(5_000);
		expect(watch.closeReason).toBe('connect-timeout');
		expect(await watchdog.canCreate('alice')).toBe(true);
	});

	it('takes no slot for a transport watched after it connected', async () => {
		const { watchdog, settle, store } = setup({ maxPendingPerUser: 1 });
		const { transport } = createFakeTransport({ appData: { userId: 'alice' }, iceState: 'completed', dtlsState: 'connected' });
		watchdog.watch(transport as Fake & WatchableTransport);
		await settle();
		expect(store.calls).toEqual([]);
		expect(await watchdog.canCreate('alice')).toBe(true);
	});

	it('stores each slot with a ttl of the connect deadline plus 5 s, so a crashed node’s slots expire', async () => {
		const { add, settle, store } = setup({ connectTimeoutMs: 8_000 });
		add();
		await settle();
		expect(store.calls).toEqual(['add alice ttl:13000']);
	});

	it('does not close a transport that connected before the store answered', async () => {
		let release!: (n: number) => void;
		const slow: WatchdogStore = {
			consumeRestart: async () => ({ allowed: true, retryAfterMs: 0 }),
			addPending: () => new Promise<number>((resolve) => (release = resolve)),
			removePending: async () => {},
			countPending: async () => 0,
		};
		const { add, settle } = setup({ store: slow, maxPendingPerUser: 1 });
		const { watch, transport } = add();
		transport.connectClient();
		release(5);
		await settle();
		expect(watch.state).toBe('connected');
	});

	it('gives a slot back only after the store has answered its add, so the removal cannot overtake it', async () => {
		const calls: string[] = [];
		const answers: Array<() => void> = [];
		const slow: WatchdogStore = {
			consumeRestart: async () => ({ allowed: true, retryAfterMs: 0 }),
			addPending: (_userId, transportId) => {
				calls.push(`add ${transportId}`);
				return new Promise<number>((resolve, reject) => {
					answers.push(transportId === 'fails' ? () => reject(new Error('store down')) : () => resolve(1));
				});
			},
			removePending: async (_userId, transportId) => {
				calls.push(`remove ${transportId}`);
			},
			countPending: async () => 0,
		};
		const { watchdog, settle } = setup({ store: slow, maxPendingPerUser: 4 });
		for (const id of ['ok', 'fails']) {
			const { transport } = createFakeTransport({ id, appData: { userId: 'ivan' } });
			watchdog.watch(transport as Fake & WatchableTransport).close();
		}
		await settle();
		expect(calls).toEqual(['add ok', 'add fails']);
		for (const answer of answers) answer();
		await settle();
		expect(calls).toEqual(['add ok', 'add fails', 'remove ok', 'remove fails']);
	});

	it('keeps the slot of a transport watched again right after stop(): the old removal goes first', async () => {
		const { watchdog, store, settle, add } = setup({ maxPendingPerUser: 1 });
		const { transport } = createFakeTransport({ appData: { userId: 'kate' } });
		const first = watchdog.watch(transport as Fake & WatchableTransport);
		await settle();
		first.stop();
		const again = watchdog.watch(transport as Fake & WatchableTransport);
		await settle();
		expect(await store.countPending('kate')).toBe(1);
		expect(await watchdog.canCreate('kate')).toBe(false);
		const { watch: oneMore } = add('kate');
		await settle();
		expect(oneMore.closeReason).toBe('pending-limit');
		expect(again.state).toBe('connecting');
	});

	it('sends the adds and removals of one transport in the order asked, each after the last is answered, across watchdogs sharing the store', async () => {
		const calls: string[] = [];
		const answers: Array<() => void> = [];
		const held = new MemoryStore(clock);
		const slow: WatchdogStore = {
			consumeRestart: async () => ({ allowed: true, retryAfterMs: 0 }),
			addPending: (userId, transportId, ttlMs) => {
				calls.push('add');
				return new Promise<number>((resolve) => answers.push(() => resolve(held.addPending(userId, transportId, ttlMs))));
			},
			removePending: (userId, transportId) => {
				calls.push('remove');
				return new Promise<void>((resolve) => answers.push(() => resolve(held.removePending(userId, transportId))));
			},
			countPending: (userId) => held.countPending(userId),
		};
		const policy: WatchdogPolicyOptions = { store: slow, maxPendingPerUser: 4, inactivityTimeoutMs: Number.POSITIVE_INFINITY };
		const nodeA = createWatchdog(policy, { clock });
		const nodeB = createWatchdog(policy, { clock });
		const { transport } = createFakeTransport({ appData: { userId: 'liam' } });
		nodeA.watch(transport as Fake & WatchableTransport).stop(); // add, then its removal
		nodeB.watch(transport as Fake & WatchableTransport); // and a new add, on the other watchdog
		await vi.advanceTimersByTimeAsync(0);
		expect(calls).toEqual(['add']);
		for (const expected of [
			['add', 'remove'],
			['add', 'remove', 'add'],
		]) {
			answers.shift()?.();
			await vi.advanceTimersByTimeAsync(0);
			expect(calls).toEqual(expected);
		}
		answers.shift()?.();
		await vi.advanceTimersByTimeAsync(0);
		expect(await slow.countPending('liam')).toBe(1);
		nodeA.stop();
		nodeB.stop();
	});
});

describe('store failure', () => {
	it('keeps the transport when addPending fails and onStoreError.pending is allow (the default)', async () => {
		const { add, store, settle, closes } = setup();
		store.fail.add = new Error('ECONNREFUSED');
		const { watch } = add();
		await settle();
		expect(watch.state).toBe('connecting');
		expect(closes).toEqual([]);
	});

	it('closes the transport with `pending-limit` when addPending fails and onStoreError.pending is deny', async () => {
		const { add, store, settle } = setup({ onStoreError: { pending: 'deny' } });
		store.fail.add = new Error('ECONNREFUSED');
		const { watch } = add();
		await settle();
		expect(await watch.closed).toMatchObject({
			reason: 'pending-limit',
			detail: "the store failed and onStoreError.pending is 'deny': ECONNREFUSED",
		});
	});

	it('treats a count that is not a number as a store failure', async () => {
		const odd: WatchdogStore = {
			consumeRestart: async () => ({ allowed: true, retryAfterMs: 0 }),
			addPending: async () => undefined as unknown as number,
			removePending: async () => {},
			countPending: async () => 0,
		};
		const { add, settle } = setup({ store: odd, onStoreError: 'deny' });
		const { watch } = add();
		await settle();
		expect((await watch.closed).detail).toMatch(/store\.addPending\(\) must resolve with a count, got undefined/);
	});

	it('never lets a failing removePending escape as an unhandled rejection', async () => {
		const { add, store, settle } = setup();
		store.fail.remove = new Error('down');
		const { watch } = add();
		await settle();
		watch.close();
		await settle();
		expect(store.calls).toEqual(['add alice ttl:20000', 'remove alice']);
	});
});
