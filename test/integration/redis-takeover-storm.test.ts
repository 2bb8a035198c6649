// Two SFU nodes (two Node processes, each with its own mediasoup worker, ioredis client and
// watchdog; test/helpers/redis-node.ts) and one real redis-server:
// - takeover: user U connected on node A binds a signaling session on node B → U's transports on
//   A close with `superseded` (clean) within 100 ms, through Redis pub/sub; others untouched;
// - the restart-storm breaker: 200 users on the two nodes ask for ICE restarts within one second;
//   grants stay at the cluster-wide rate, every denial carries a retryAfterMs, and each user ends
//   with exactly one grant (none lost, none doubled: the per-user counters in Redis say 1 each).
// Small policy values where the behaviour does not depend on the defaults (a 1 s storm window,
// 250 ms jitter): the file stays short.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { busiestWindow } from '../helpers/busiest-window.js';
import { type SfuNode, type SfuNodeConfig, startSfuNode } from '../helpers/redis-node.js';
import { type RedisServer, startRedisServer } from '../helpers/redis-server.js';

const STORM = { cluster: 40, windowMs: 1_000, jitterMs: 250 } as const;
const USERS_PER_NODE = 100;

let server: RedisServer;
let nodeA: SfuNode;
let nodeB: SfuNode;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function config(name: string): SfuNodeConfig {
	return {
		name,
		redisPort: server.port,
		policy: {
			connectTimeoutMs: 60_000, // the storm's transports never connect (no peer): only the gate is exercised
			perUser: { limit: 1, windowMs: 20_000 },
			maxPendingPerUser: 2,
			storm: STORM,
			takeover: true,
			requireConnectedOnce: false,
			reconnectTimeoutMs: Number.POSITIVE_INFINITY,
		},
	};
}

beforeAll(async () => {
	server = await startRedisServer();
	[nodeA, nodeB] = await Promise.all([startSfuNode(config('A')), startSfuNode(config('B'))]);
}, 90_000);

afterAll(async () => {
	const results = await Promise.allSettled([nodeA?.shutdown(), nodeB?.shutdown()]);
	nodeA?.kill();
	nodeB?.kill();
	await server?.close();
	for (const result of results) {
		if (result.status === 'rejected') throw result.reason;
		expect(result.value?.problems ?? []).toEqual([]);
	}
});

describe('many SFU nodes, one Redis', () => {
	it("closes U's transports on node A with superseded within 100 ms when U binds a session on node B; others untouched", async () => {
		const [u1, u2, other] = await Promise.all([nodeA.connect('ursula'), nodeA.connect('ursula'), nodeA.connect('victor')]);
		const onB = await nodeB.pending('ursula'); // U's new transport on B, just created

		const { at } = await nodeB.bind('ursula');
		let closed = (await nodeA.closes()).filter((c) => c.userId === 'ursula');
		for (let i = 0; closed.length < 2 && i < 50; i++) {
			await sleep(20);
			closed = (await nodeA.closes()).filter((c) => c.userId === 'ursula');
		}
		expect(closed.map((c) => c.transportId).sort()).toEqual([u1.transportId, u2.transportId].sort());
		for (const close of closed) {
			expect(close).toMatchObject({ reason: 'superseded', clean: true });
			expect(close.at - at).toBeLessThan(100);
		}
		expect(await nodeA.watch(other.transportId)).toEqual({ state: 'connected', closeReason: null });
		expect(await nodeB.watch(onB.transportId)).toMatchObject({ state: 'connecting', closeReason: null });
		expect(await nodeB.closes()).toEqual([]);
		console.info(
			`[takeover] bind on B → closes on A after ${closed.map((c) => (c.at - at).toFixed(1)).join(' ms, ')} ms (superseded, clean)`,
		);
		await Promise.all([nodeA.close(other.transportId), nodeB.close(onB.transportId)]);
	});

	it('holds 200 users asking within one second to the cluster-wide storm rate; each denied one gets a retryAfterMs; one grant per user', async () => {
		const users = (prefix: string) => Array.from({ length: USERS_PER_NODE }, (_, i) => `${prefix}${i}`);
		const [onA, onB] = await Promise.all([nodeA.idle(users('storm-a')), nodeB.idle(users('storm-b'))]);
		const startAt = Date.now() + 300;
		const params = { startAt, spreadMs: 1_000, deadlineMs: 20_000 };
		const runs = (
			await Promise.all([
				nodeA.restartUntilGranted({ transportIds: onA, ...params }),
				nodeB.restartUntilGranted({ transportIds: onB, ...params }),
			])
		).flat();

		expect(runs).toHaveLength(2 * USERS_PER_NODE);
		const grants = runs.flatMap((run) => (run.granted ? [run.granted] : []));
		expect(grants).toHaveLength(2 * USERS_PER_NODE); // none lost
		const denials = runs.flatMap((run) => run.denials);
		expect(denials.length).toBeGreaterThan(0); // the breaker engaged
		for (const denial of denials) {
			expect(denial.reason).toBe('storm');
			expect(denial.retryAfterMs).toBeGreaterThan(0);
			expect(denial.retryAfterMs).toBeLessThanOrEqual(STORM.windowMs + STORM.jitterMs);
		}
		// A grant was decided (in Redis) between its call's start and end: grants whose ends fall in a
		// window shortened by the longest call were decided within one storm window.
		const ends = grants.map((g) => g.end).sort((a, b) => a - b);
		const longest = Math.max(...grants.map((g) => g.end - g.start));
		expect(busiestWindow(ends, STORM.windowMs - longest)).toBeLessThanOrEqual(STORM.cluster);
		const spanMs = (ends.at(-1) as number) - startAt;
		expect(spanMs).toBeGreaterThanOrEqual(((2 * USERS_PER_NODE) / STORM.cluster - 1) * STORM.windowMs);

		// Not doubled: each user's restart counter in Redis is 1.
		const keys = [...users('storm-a'), ...users('storm-b')].map((u) => `mediasoup-watchdog:restart:${u}`);
		const reply = await server.command('MGET', ...keys);
		const values = reply.split('\r\n').filter((line, i) => i > 0 && !line.startsWith('$'));
		expect(values).toEqual(keys.map(() => '1'));
		console.info(
			`[storm] 200 users, cluster ${STORM.cluster}/${STORM.windowMs} ms: ${grants.length} grants over ${(spanMs / 1_000).toFixed(2)} s (${((grants.length / spanMs) * 1_000).toFixed(1)}/s), busiest ${STORM.windowMs} ms window by call end ${busiestWindow(ends, STORM.windowMs)} (by decision bound ${busiestWindow(ends, STORM.windowMs - longest)}), ${denials.length} storm denials, longest granted call ${longest.toFixed(1)} ms`,
		);
	}, 40_000);
});
