// The default in-memory store: fixed per-user windows from the first restart (the semantics of
// rate-limiter-flexible's memory limiter, so the Redis store agrees), exact `retryAfterMs`, exact
// under concurrent callers, pending entries that expire, and nothing left behind.
import { describe, expect, it } from 'vitest';
import type { Clock } from '../../src/clock.js';
import { MemoryStore } from '../../src/index.js';

/** A clock that moves only when told to (the store never arms timers). */
function manualClock(start = 0): Clock & { advance(ms: number): void; set(ms: number): void } {
	let now = start;
	return {
		now: () => now,
		setTimeout: () => {
			throw new Error('the memory store must not arm timers');
		},
		clearTimeout: () => {},
		advance(ms) {
			now += ms;
		},
		set(ms) {
			now = ms;
		},
	};
}

const ONE_PER_20S = { limit: 1, windowMs: 20_000 };

describe('consumeRestart', () => {
	it('allows `limit` restarts per window and then says how long until the window ends', async () => {
		const clock = manualClock(1_000);
		const store = new MemoryStore(clock);
		const limit = { limit: 2, windowMs: 30_000 };
		expect(await store.consumeRestart('alice', limit)).toEqual({ allowed: true, retryAfterMs: 0 });
		clock.advance(4_000);
		expect(await store.consumeRestart('alice', limit)).toEqual({ allowed: true, retryAfterMs: 0 });
		clock.advance(1_500);
		expect(await store.consumeRestart('alice', limit)).toEqual({ allowed: false, retryAfterMs: 24_500 });
	});

	it('opens a new window exactly windowMs after the first restart, not after the last refused one', async () => {
		const clock = manualClock();
		const store = new MemoryStore(clock);
		await store.consumeRestart('alice', ONE_PER_20S); // t = 0
		clock.set(10_000);
		expect(await store.consumeRestart('alice', ONE_PER_20S)).toEqual({ allowed: false, retryAfterMs: 10_000 });
		clock.set(19_999);
		expect(await store.consumeRestart('alice', ONE_PER_20S)).toEqual({ allowed: false, retryAfterMs: 1 });
		clock.set(20_000);
		expect(await store.consumeRestart('alice', ONE_PER_20S)).toEqual({ allowed: true, retryAfterMs: 0 });
		clock.set(20_001);
		expect(await store.consumeRestart('alice', ONE_PER_20S)).toEqual({ allowed: false, retryAfterMs: 19_999 });
	});

	it('keeps users apart', async () => {
		const store = new MemoryStore(manualClock());
		expect((await store.consumeRestart('alice', ONE_PER_20S)).allowed).toBe(true);
		expect((await store.consumeRestart('bob', ONE_PER_20S)).allowed).toBe(true);
		expect((await store.consumeRestart('alice', ONE_PER_20S)).allowed).toBe(false);
	});

	it('rounds retryAfterMs up to whole milliseconds on a fractional clock (performance.now())', async () => {
		const clock = manualClock(100.75);
		const store = new MemoryStore(clock);
		await store.consumeRestart('alice', ONE_PER_20S);
		clock.advance(0.5);
		expect(await store.consumeRestart('alice', ONE_PER_20S)).toEqual({ allowed: false, retryAfterMs: 20_000 });
	});

	it('is exact under 1 000 concurrent callers: exactly `limit` are allowed', async () => {
		const store = new MemoryStore(manualClock());
		const results = await Promise.all(
			Array.from({ length: 1_000 }, () => store.consumeRestart('alice', { limit: 7, windowMs: 20_000 })),
		);
		expect(results.filter((r) => r.allowed)).toHaveLength(7);
		expect(new Set(results.filter((r) => !r.allowed).map((r) => r.retryAfterMs))).toEqual(new Set([20_000]));
	});

	it('drops ended windows, so users who stop restarting leave nothing behind', async () => {
		const clock = manualClock();
		const store = new MemoryStore(clock);
		for (let i = 0; i < 100; i++) await store.consumeRestart(`user-${i}`, ONE_PER_20S);
		expect(store.size).toBe(100);
		clock.advance(20_000);
		await store.consumeRestart('late', ONE_PER_20S);
		expect(store.size).toBe(1);
	});
});

describe('pending transports', () => {
	it('counts a user’s pending transports, including the one just added, and forgets removed ones', async () => {
		const store = new MemoryStore(manualClock());
		expect(await store.addPending('alice', 't1', 20_000)).toBe(1);
		expect(await store.addPending('alice', 't2', 20_000)).toBe(2);
		expect(await store.addPending('bob', 't3', 20_000)).toBe(1);
		expect(await store.addPending('alice', 't2', 20_000)).toBe(2); // same transport twice counts once
		await store.removePending('alice', 't1');
		await store.removePending('alice', 't1'); // idempotent
		await store.removePending('carol', 'nope');
		expect(await store.countPending('alice')).toBe(1);
		expect(await store.countPending('bob')).toBe(1);
		expect(await store.countPending('carol')).toBe(0);
	});

	it('expires entries after their ttl (a crashed holder cannot keep a user’s budget)', async () => {
		const clock = manualClock();
		const store = new MemoryStore(clock);
		await store.addPending('alice', 't1', 20_000);
		clock.advance(10_000);
		await store.addPending('alice', 't2', 20_000);
		clock.advance(9_999);
		expect(await store.countPending('alice')).toBe(2);
		clock.advance(1);
		expect(await store.countPending('alice')).toBe(1);
		clock.advance(10_000);
		expect(await store.countPending('alice')).toBe(0);
		expect(store.size).toBe(0);
	});

	it('leaves nothing behind once every pending transport is removed', async () => {
		const store = new MemoryStore(manualClock());
		for (let i = 0; i < 50; i++) await store.addPending(`user-${i % 5}`, `t${i}`, 20_000);
		expect(store.size).toBe(5);
		for (let i = 0; i < 50; i++) await store.removePending(`user-${i % 5}`, `t${i}`);
		expect(store.size).toBe(0);
	});
});
