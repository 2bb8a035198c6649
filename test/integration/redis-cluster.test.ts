// Two SFU nodes (two Node processes, each with its own mediasoup worker, ioredis client and
// watchdog) sharing one real redis-server through `mediasoup-watchdog/redis`. Transports that
// connect have a real werift peer (test/helpers/werift/, data-only, DTLS + SCTP), so a granted ICE
// restart is real: mediasoup makes new ICE parameters and the peer reconnects with them.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type SfuNode, type SfuNodeConfig, startSfuNode } from '../helpers/redis-node.js';
import { type RedisServer, startRedisServer } from '../helpers/redis-server.js';

const WINDOW_MS = 4_000;
const CONNECT_TIMEOUT_MS = 20_000;

let server: RedisServer;
let nodeA: SfuNode;
let nodeB: SfuNode;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function config(name: string, onStoreError?: NonNullable<SfuNodeConfig['policy']['onStoreError']>): SfuNodeConfig {
	return {
		name,
		redisPort: server.port,
		commandTimeoutMs: 500,
		policy: {
			connectTimeoutMs: CONNECT_TIMEOUT_MS,
			perUser: { limit: 1, windowMs: WINDOW_MS },
			maxPendingPerUser: 2,
			...(onStoreError ? { onStoreError } : {}),
		},
	};
}

async function dbsizeSettled(timeoutMs = 3_000): Promise<number> {
	const deadline = Date.now() + timeoutMs;
	let size = await server.dbsize();
	while (size > 0 && Date.now() < deadline) {
		await sleep(50);
		size = await server.dbsize();
	}
	return size;
}

async function untilReady(node: SfuNode, timeoutMs = 10_000): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while ((await node.redisStatus()) !== 'ready') {
		if (Date.now() > deadline) throw new Error(`node ${node.name} did not reconnect to Redis within ${timeoutMs} ms`);
		await sleep(20);
	}
}

beforeAll(async () => {
	server = await startRedisServer();
	// Node A denies restarts when Redis fails (the default); node B allows them.
	[nodeA, nodeB] = await Promise.all([startSfuNode(config('A')), startSfuNode(config('B', { restart: 'allow' }))]);
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

beforeEach(async () => {
	// A failed test must not leave the next one without Redis.
	if (!server.running) await server.start();
	await Promise.all([untilReady(nodeA), untilReady(nodeB)]);
});

describe('per-user limits held in Redis across two SFU nodes', () => {
	it('rate-limits on node B a restart of the same user granted on node A within the window, and grants it once the window passed', async () => {
		const [onA, onB] = await Promise.all([nodeA.connect('alice'), nodeB.connect('alice')]);

		const first = await nodeA.restart(onA.transportId);
		expect(first).toMatchObject({ outcome: 'granted', reconnected: true });

		const second = await nodeB.restart(onB.transportId);
		expect(second.outcome).toBe('denied');
		if (second.outcome !== 'denied') return;
		expect(second.reason).toBe('rate-limited');
		expect(second.retryAfterMs).toBeGreaterThan(0);
		expect(second.retryAfterMs).toBeLessThanOrEqual(WINDOW_MS);
		console.info(
			`[redis] connect A ${onA.timeToConnectMs.toFixed(0)} ms, B ${onB.timeToConnectMs.toFixed(0)} ms; restart decision: granted on A in ${first.decisionMs.toFixed(1)} ms, rate-limited on B in ${second.decisionMs.toFixed(1)} ms (retryAfterMs ${second.retryAfterMs})`,
		);
		expect(await nodeB.watch(onB.transportId)).toEqual({ state: 'connected', closeReason: null }); // a denial changes nothing

		// Another user is not affected.
		const bob = await nodeB.connect('bob');
		expect(await nodeB.restart(bob.transportId)).toMatchObject({ outcome: 'granted', reconnected: true });

		await sleep((second.retryAfterMs ?? WINDOW_MS) + 100);
		expect(await nodeB.restart(onB.transportId)).toMatchObject({ outcome: 'granted', reconnected: true });

		await Promise.all([nodeA.close(onA.transportId), nodeB.close(onB.transportId), nodeB.close(bob.transportId)]);
	});

	it("counts a user's never-connected transports on both nodes against one cap", async () => {
		const first = await nodeA.pending('carol');
		const second = await nodeB.pending('carol');
		expect(first).toMatchObject({ state: 'connecting', closeReason: null });
		expect(second).toMatchObject({ state: 'connecting', closeReason: null });
		expect(await nodeA.canCreate('carol')).toBe(false);
		expect(await nodeB.canCreate('carol')).toBe(false);

		const third = await nodeA.pending('carol');
		expect(third).toMatchObject({ state: 'closed', closeReason: 'pending-limit' });
		// The first two are untouched; the refused one does not count.
		expect(await nodeA.watch(first.transportId)).toMatchObject({ state: 'connecting' });
		expect(await nodeA.canCreate('carol')).toBe(false);

		// One of them goes away on node B: node A may create one again.
		await nodeB.close(second.transportId);
		expect(await nodeA.canCreate('carol')).toBe(true);
		const fourth = await nodeA.pending('carol');
		expect(fourth).toMatchObject({ state: 'connecting' });

		await Promise.all([nodeA.close(first.transportId), nodeA.close(fourth.transportId)]);
		expect(await nodeB.canCreate('carol')).toBe(true);
	});

	it('denies restarts with store-unavailable while Redis is down (or allows them, per node policy), and serves again once it is back, with the same watchdogs', async () => {
		const [onA, onB] = await Promise.all([nodeA.connect('erin'), nodeB.connect('erin')]);

		await server.stop();
		for (const node of [nodeA, nodeB]) {
			const deadline = Date.now() + 5_000;
			while ((await node.redisStatus()) === 'ready' && Date.now() < deadline) await sleep(10);
		}

		const denied = await nodeA.restart(onA.transportId);
		expect(denied).toMatchObject({
			outcome: 'denied',
			reason: 'store-unavailable',
			retryAfterMs: null,
			causeName: 'RedisStoreError',
			causeFailure: 'not-ready',
		});
		expect(denied.decisionMs).toBeLessThan(250); // at once: nothing waits in ioredis's offline queue
		expect(await nodeA.watch(onA.transportId)).toEqual({ state: 'connected', closeReason: null });
		// Node B's policy says `onStoreError: { restart: 'allow' }`.
		expect(await nodeB.restart(onB.transportId)).toMatchObject({ outcome: 'granted', reconnected: true });
		// Pending transports are allowed by default when the store fails (`pending: 'allow'`).
		const pendingDuringOutage = await nodeA.pending('erin');
		expect(pendingDuringOutage).toMatchObject({ state: 'connecting', closeReason: null });
		expect(await nodeA.canCreate('erin')).toBe(true);

		await server.start(); // same port, empty: nothing is persisted
		await Promise.all([untilReady(nodeA), untilReady(nodeB)]);
		expect(await nodeA.restart(onA.transportId)).toMatchObject({ outcome: 'granted', reconnected: true });
		expect(await nodeB.restart(onB.transportId)).toMatchObject({ outcome: 'denied', reason: 'rate-limited' });

		// A Redis that keeps the connection but stops answering: denied after commandTimeoutMs (500).
		server.freeze();
		let frozen: Awaited<ReturnType<SfuNode['restart']>>;
		try {
			frozen = await nodeA.restart(onA.transportId);
		} finally {
			server.thaw();
		}
		expect(frozen).toMatchObject({
			outcome: 'denied',
			reason: 'store-unavailable',
			causeName: 'RedisStoreError',
			causeFailure: 'timeout',
		});
		expect(frozen.decisionMs).toBeGreaterThanOrEqual(490);
		expect(frozen.decisionMs).toBeLessThan(2_000);
		console.info(
			`[redis] store-unavailable: Redis stopped → denied in ${denied.decisionMs.toFixed(1)} ms; Redis frozen → denied in ${frozen.decisionMs.toFixed(0)} ms (commandTimeoutMs 500)`,
		);
		expect(await nodeA.restart(onA.transportId)).toMatchObject({ outcome: 'denied', reason: 'rate-limited' });

		await Promise.all([nodeA.close(onA.transportId), nodeB.close(onB.transportId), nodeA.close(pendingDuringOutage.transportId)]);
		expect(await nodeA.problems()).toEqual([]);
		expect(await nodeB.problems()).toEqual([]);
	});

	it('leaves nothing in Redis once the transports are closed and the windows have passed', async () => {
		const connected = await nodeA.connect('frank'); // counted as pending, released on connect
		const pendingA = await nodeA.pending('frank');
		const pendingB = await nodeB.pending('frank');
		expect((await nodeA.restart(connected.transportId)).outcome).toBe('granted');
		expect(await server.keys()).toEqual(
			expect.arrayContaining(['mediasoup-watchdog:pending:frank', 'mediasoup-watchdog:restart:frank']),
		);

		await Promise.all([nodeA.close(connected.transportId), nodeA.close(pendingA.transportId), nodeB.close(pendingB.transportId)]);
		expect(await server.keys()).not.toContain('mediasoup-watchdog:pending:frank'); // gone with its last member
		await sleep(WINDOW_MS);
		expect(await dbsizeSettled()).toBe(0);
	});
});
