// The Redis store against a real Debian redis-server (no mediasoup here: the two-node cluster test
// is redis-cluster.test.ts; fake transports where a watchdog is needed). Two ioredis clients stand
// for two SFU nodes.
import { Redis } from 'ioredis';
import { RateLimiterRedis } from 'rate-limiter-flexible';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createRedisStore, isRedisStoreError, RedisStoreError } from '../../src/adapters/redis.js';
import type { WatchableTransport } from '../../src/index.js';
import { definePolicy } from '../../src/policy.js';
import { createWatchdog } from '../../src/watchdog.js';
import { createFakeTransport, type FakeWebRtcTransport } from '../helpers/fake-transport.js';
import { type RedisServer, startRedisServer } from '../helpers/redis-server.js';

let server: RedisServer;
const clients: Redis[] = [];

/** An application's ioredis client (defaults), connected unless `lazyConnect`. */
async function client(options: { lazyConnect?: boolean } = {}): Promise<Redis> {
	const redis = new Redis({ host: server.host, port: server.port, ...options });
	redis.on('error', () => {}); // expected while the server is stopped in some tests
	clients.push(redis);
	if (!options.lazyConnect) await ready(redis);
	return redis;
}

async function ready(redis: Redis): Promise<void> {
	if (redis.status === 'ready') return;
	await new Promise((resolve) => redis.once('ready', resolve));
}

/** DBSIZE once Redis's active expiry has caught up (it samples keys ~10 times a second). */
async function dbsizeSettled(timeoutMs = 2_000): Promise<number> {
	const deadline = Date.now() + timeoutMs;
	let size = await server.dbsize();
	while (size > 0 && Date.now() < deadline) {
		await new Promise((resolve) => setTimeout(resolve, 50));
		size = await server.dbsize();
	}
	return size;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

beforeAll(async () => {
	server = await startRedisServer();
});

afterAll(async () => {
	await server?.close();
});

beforeEach(async () => {
	if (!server.running) await server.start();
	await server.command('FLUSHALL');
});

afterEach(async () => {
	for (const redis of clients.splice(0)) redis.disconnect();
});

describe('restart limit (rate-limiter-flexible on Redis)', () => {
	it('grants up to the limit in one window and then reports the time left in it', async () => {
		const store = createRedisStore({ client: await client() });
		const limit = { limit: 2, windowMs: 3_000 };
		expect(await store.consumeRestart('alice', limit)).toEqual({ allowed: true, retryAfterMs: 0 });
		expect(await store.consumeRestart('alice', limit)).toEqual({ allowed: true, retryAfterMs: 0 });
		const denied = await store.consumeRestart('alice', limit);
		expect(denied.allowed).toBe(false);
		expect(denied.retryAfterMs).toBeGreaterThan(2_000);
		expect(denied.retryAfterMs).toBeLessThanOrEqual(3_000);
		expect(Number.isInteger(denied.retryAfterMs)).toBe(true);
		// another user has an allowance of its own
		expect(await store.consumeRestart('bob', limit)).toEqual({ allowed: true, retryAfterMs: 0 });
	});

	it('shares one allowance between two clients, as between two SFU nodes', async () => {
		const nodeA = createRedisStore({ client: await client() });
		const nodeB = createRedisStore({ client: await client() });
		const limit = { limit: 1, windowMs: 2_000 };
		expect((await nodeA.consumeRestart('carol', limit)).allowed).toBe(true);
		const onB = await nodeB.consumeRestart('carol', limit);
		expect(onB.allowed).toBe(false);
		expect(onB.retryAfterMs).toBeGreaterThan(0);
	});

	it('gives a new allowance once the window has passed, and its key expires with the window', async () => {
		const store = createRedisStore({ client: await client(), keyPrefix: 'expiry' });
		const limit = { limit: 1, windowMs: 1_000 };
		expect((await store.consumeRestart('dave', limit)).allowed).toBe(true);
		const denied = await store.consumeRestart('dave', limit);
		expect(denied.allowed).toBe(false);
		expect(await server.keys()).toEqual(['expiry:restart:dave']);
		const ttl = Number((await server.command('PTTL', 'expiry:restart:dave')).slice(1));
		expect(ttl).toBeGreaterThan(0);
		expect(ttl).toBeLessThanOrEqual(1_000);
		await sleep(denied.retryAfterMs + 50);
		expect((await store.consumeRestart('dave', limit)).allowed).toBe(true);
		await sleep(1_050);
		expect(await dbsizeSettled()).toBe(0);
	});

	it('rejects a policy whose restart window is not a whole number of seconds', async () => {
		const store = createRedisStore({ client: await client() });
		for (const windowMs of [1_500, 500, 20_001]) {
			expect(() => definePolicy({ store, iceRestart: { perUser: { limit: 1, windowMs } } })).toThrow(RangeError);
		}
		expect(() => definePolicy({ store, iceRestart: { perUser: { limit: 1, windowMs: 1_500 } } })).toThrow(
			/`iceRestart\.perUser\.windowMs` must be a whole number of seconds .* got 1500 \(number\)/,
		);
		expect(definePolicy({ store, iceRestart: { perUser: { limit: 1, windowMs: 20_000 } } }).store).toBe(store);
		expect(definePolicy({ store, iceRestart: { perUser: false } }).iceRestart.perUser).toBe(false);
		expect(definePolicy({ store }).iceRestart.perUser).toEqual({ limit: 1, windowMs: 20_000 });
	});

	it("leaves another RateLimiterRedis on the application's client working", async () => {
		const redis = await client();
		const theirs = new RateLimiterRedis({ storeClient: redis, keyPrefix: 'app', points: 1, duration: 5 });
		const store = createRedisStore({ client: redis });
		expect((await store.consumeRestart('erin', { limit: 1, windowMs: 5_000 })).allowed).toBe(true);
		const res = await theirs.consume('erin');
		expect(res.remainingPoints).toBe(0);
		await expect(theirs.consume('erin')).rejects.toMatchObject({ remainingPoints: 0 });
		expect(await server.keys()).toEqual(['app:erin', 'mediasoup-watchdog:restart:erin']);
	});
});

describe('pending transports (a sorted set per user)', () => {
	it('counts a user’s pending transports across clients and forgets them idempotently', async () => {
		const nodeA = createRedisStore({ client: await client() });
		const nodeB = createRedisStore({ client: await client() });
		expect(await nodeA.addPending('frank', 't1', 10_000)).toBe(1);
		expect(await nodeB.addPending('frank', 't2', 10_000)).toBe(2);
		expect(await nodeA.addPending('frank', 't2', 10_000)).toBe(2); // same transport: counted once
		expect(await nodeB.countPending('frank')).toBe(2);
		expect(await nodeA.countPending('grace')).toBe(0);
		await nodeB.removePending('frank', 't1');
		await nodeB.removePending('frank', 't1');
		expect(await nodeA.countPending('frank')).toBe(1);
		await nodeA.removePending('frank', 't2');
		expect(await nodeB.countPending('frank')).toBe(0);
		expect(await server.dbsize()).toBe(0);
	});

	it('forgets entries after their ttl, so a crashed node does not hold a budget, and the key expires', async () => {
		const store = createRedisStore({ client: await client(), keyPrefix: 'ttl' });
		expect(await store.addPending('heidi', 'short', 300)).toBe(1);
		expect(await store.addPending('heidi', 'long', 800)).toBe(2);
		expect(await server.keys()).toEqual(['ttl:pending:heidi']);
		const pttl = Number((await server.command('PTTL', 'ttl:pending:heidi')).slice(1));
		expect(pttl).toBeGreaterThan(600); // the key lives as long as its longest-lived member
		expect(pttl).toBeLessThanOrEqual(800);
		await sleep(400);
		expect(await store.countPending('heidi')).toBe(1);
		await sleep(500);
		expect(await dbsizeSettled()).toBe(0); // expired by Redis with nobody asking
		expect(await store.countPending('heidi')).toBe(0);
	});
});

describe('a watchdog on the store', () => {
	it('leaves no pending slot behind when a watch ends while Redis still has to load the script (NOSCRIPT)', async () => {
		const store = createRedisStore({ client: await client(), keyPrefix: 'noscript' });
		const watchdog = createWatchdog({ store, maxPendingPerUser: 4, inactivityTimeoutMs: Number.POSITIVE_INFINITY });
		try {
			for (let round = 0; round < 3; round++) {
				await server.command('SCRIPT', 'FLUSH'); // as after a Redis restart
				const { transport } = createFakeTransport({ appData: { userId: 'judy' } });
				// The add (EVALSHA, NOSCRIPT, then EVAL) is on its way when the watch ends and gives the slot back.
				watchdog.watch(transport as FakeWebRtcTransport & WatchableTransport).close();
				await sleep(100);
				expect(await store.countPending('judy'), `round ${round}`).toBe(0);
			}
			expect(await server.dbsize()).toBe(0);
		} finally {
			watchdog.stop();
		}
	});
});

describe('when Redis fails', () => {
	it('rejects every operation at once with a not-ready RedisStoreError while Redis is down, and works again once it is back', async () => {
		const redis = await client();
		const store = createRedisStore({ client: redis });
		const limit = { limit: 5, windowMs: 5_000 };
		expect((await store.consumeRestart('ivan', limit)).allowed).toBe(true);

		await server.stop();
		const deadline = Date.now() + 2_000;
		while (redis.status === 'ready' && Date.now() < deadline) await sleep(5);
		expect(redis.status).not.toBe('ready');

		const started = performance.now();
		const failures = await Promise.allSettled([
			store.consumeRestart('ivan', limit),
			store.addPending('ivan', 't1', 5_000),
			store.countPending('ivan'),
		]);
		const elapsed = performance.now() - started;
		expect(elapsed).toBeLessThan(100);
		for (const failure of failures) {
			expect(failure.status).toBe('rejected');
			const reason = (failure as PromiseRejectedResult).reason as RedisStoreError;
			expect(reason).toBeInstanceOf(RedisStoreError);
			expect(isRedisStoreError(reason)).toBe(true);
			expect(reason.failure).toBe('not-ready');
			expect(reason.userId).toBe('ivan');
			expect(reason.message).toMatch(
				/^(consumeRestart|addPending|countPending)\(\) failed in Redis \[userId:ivan, failure:not-ready\]/,
			);
		}

		await server.start();
		await ready(redis); // ioredis reconnects by itself; the store holds no connection state
		expect(await store.consumeRestart('ivan', limit)).toEqual({ allowed: true, retryAfterMs: 0 });
		expect(await store.addPending('ivan', 't1', 5_000)).toBe(1);
		await store.removePending('ivan', 't1');
		expect(await store.countPending('ivan')).toBe(0);
	});

	it('rejects after commandTimeoutMs with a timeout RedisStoreError when Redis stops answering', async () => {
		const redis = await client();
		const store = createRedisStore({ client: redis, commandTimeoutMs: 300 });
		await store.countPending('judy'); // scripts loaded, connection warm
		server.freeze();
		try {
			const started = performance.now();
			const error = await store.consumeRestart('judy', { limit: 1, windowMs: 5_000 }).catch((e: unknown) => e);
			const elapsed = performance.now() - started;
			expect(isRedisStoreError(error)).toBe(true);
			expect((error as RedisStoreError).failure).toBe('timeout');
			expect((error as RedisStoreError).operation).toBe('consumeRestart');
			expect(elapsed).toBeGreaterThanOrEqual(295);
			expect(elapsed).toBeLessThan(1_000);
			const removal = await store.removePending('judy', 't1').catch((e: unknown) => e);
			expect((removal as RedisStoreError).failure).toBe('timeout');
		} finally {
			server.thaw();
		}
		// The abandoned commands are answered late; nothing surfaces (the setup file fails the file on
		// any unhandled rejection), and the store keeps working.
		await sleep(100);
		const after = await store.consumeRestart('judy', { limit: 1, windowMs: 5_000 });
		expect(after.allowed).toBe(false); // the timed-out consume did reach Redis in the end
		expect(after.retryAfterMs).toBeGreaterThan(0);
	});

	it('never connects a lazyConnect client itself, and says so', async () => {
		const redis = await client({ lazyConnect: true });
		const store = createRedisStore({ client: redis });
		const error = await store.consumeRestart('kim', { limit: 1, windowMs: 1_000 }).catch((e: unknown) => e);
		expect((error as RedisStoreError).failure).toBe('not-ready');
		expect((error as RedisStoreError).message).toMatch(
			/status:wait\) \(a lazyConnect client: the application must call connect\(\)\)/,
		);
		expect(redis.status).toBe('wait');
		await redis.connect();
		expect((await store.consumeRestart('kim', { limit: 1, windowMs: 1_000 })).allowed).toBe(true);
	});
});

describe('createRedisStore() options', () => {
	it('validates its options eagerly, naming the option and the bad value', async () => {
		const redis = await client({ lazyConnect: true });
		expect(() => createRedisStore({ client: {} as Redis })).toThrow(
			/`client` must be an ioredis client .* got \[Object\] \(object\) without evalsha, eval, zrem, multi, defineCommand/,
		);
		expect(() => createRedisStore(undefined as unknown as { client: Redis })).toThrow(TypeError);
		expect(() => createRedisStore({ client: redis, keyPrefix: 3 as unknown as string })).toThrow(
			'`keyPrefix` must be a string, got 3 (number)',
		);
		expect(() => createRedisStore({ client: redis, commandTimeoutMs: Number.POSITIVE_INFINITY })).toThrow(RangeError);
		expect(() => createRedisStore({ client: redis, commandTimeoutMs: 0 })).toThrow(
			'`commandTimeoutMs` must be between 1 and 2147483647 ms, got 0 (number)',
		);
		expect(() => createRedisStore({ client: redis, keyprefix: 'x' } as unknown as { client: Redis })).toThrow(
			/unknown option `keyprefix`/,
		);
		const store = createRedisStore({ client: redis });
		expect(store.keyPrefix).toBe('mediasoup-watchdog');
		expect(store.commandTimeoutMs).toBe(1_000);
	});
});
