// The Redis store's operations checked against whatever client and topology a test gives
// (standalone, Cluster, Sentinel; ioredis or iovalkey): per-user restarts, pending slots, the
// storm window and the takeover channel, each on one key. Shared by the topology tests.
import { expect } from 'vitest';
import type { RedisStore } from '../../src/adapters/redis.js';

/** Runs every operation of `store` once for users prefixed `tag` (fresh per call). */
export async function checkStoreOperations(store: RedisStore, tag: string): Promise<void> {
	const limit = { limit: 1, windowMs: 2_000 };
	expect(await store.consumeRestart(`${tag}-u1`, limit)).toEqual({ allowed: true, retryAfterMs: 0 });
	const denied = await store.consumeRestart(`${tag}-u1`, limit);
	expect(denied.allowed).toBe(false);
	expect(denied.retryAfterMs).toBeGreaterThan(0);
	expect(denied.retryAfterMs).toBeLessThanOrEqual(2_000);
	expect(await store.consumeRestart(`${tag}-u2`, limit)).toEqual({ allowed: true, retryAfterMs: 0 });

	expect(await store.addPending(`${tag}-u1`, 't1', 5_000)).toBe(1);
	expect(await store.addPending(`${tag}-u1`, 't2', 5_000)).toBe(2);
	await store.removePending(`${tag}-u1`, 't1');
	expect(await store.countPending(`${tag}-u1`)).toBe(1);
	await store.removePending(`${tag}-u1`, 't2');
	expect(await store.countPending(`${tag}-u1`)).toBe(0);

	// The storm window is one key for every node: three slots, the fourth refused until one leaves.
	const slots = await Promise.all([1, 2, 3, 4].map((i) => store.admitClusterRestart(`${tag}-s${i}`, 3, 1_000)));
	expect(slots.filter((s) => s.allowed)).toHaveLength(3);
	const refused = slots.find((s) => !s.allowed);
	expect(refused?.retryAfterMs).toBeGreaterThan(0);
	expect(refused?.retryAfterMs).toBeLessThanOrEqual(1_000);
	const given = [1, 2, 3, 4].find((i) => slots[i - 1]?.allowed);
	await store.releaseClusterRestart(`${tag}-s${given}`);
	expect((await store.admitClusterRestart(`${tag}-s5`, 3, 1_000)).allowed).toBe(true);
}

/** Announces on `from`'s takeover channel until `to`'s subscription hears it (within `timeoutMs`). */
export async function checkTakeover(from: RedisStore, to: RedisStore, userId: string, timeoutMs = 2_000): Promise<void> {
	if (!from.takeover || !to.takeover) throw new Error('both stores need a subscriber');
	const started = performance.now();
	let unsubscribe: (() => void) | undefined;
	const received = new Promise<{ userId: string; origin: string }>((resolve, reject) => {
		const timer = setTimeout(() => reject(new Error(`no announcement within ${timeoutMs} ms`)), timeoutMs);
		unsubscribe = to.takeover?.subscribe(
			(u, origin) => {
				if (u !== userId) return;
				clearTimeout(timer);
				resolve({ userId: u, origin });
			},
			(error) => {
				clearTimeout(timer);
				reject(error);
			},
		);
	});
	try {
		// A SUBSCRIBE is asynchronous: announce until the subscriber hears one (pub/sub keeps nothing).
		let heard = false;
		void received.then(
			() => {
				heard = true;
			},
			() => {},
		);
		while (!heard && performance.now() - started < timeoutMs) {
			await from.takeover.announce(userId, 'node-from');
			await new Promise((resolve) => setTimeout(resolve, 20));
		}
		expect(await received).toEqual({ userId, origin: 'node-from' });
	} finally {
		unsubscribe?.();
	}
}
