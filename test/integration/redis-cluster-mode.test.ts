// The Redis store against a real Redis Cluster (three `redis-server --cluster-enabled yes` masters
// started here, joined by `redis-cli --cluster create`), through ioredis's and iovalkey's `Cluster`
// clients, and against a standalone server through iovalkey. Every script and command of the store
// touches one key, so none meets CROSSSLOT; a hash tag in the key prefix puts all of them in one
// slot. No mediasoup worker here (unit project); the two-node tests are redis-cluster.test.ts and
// redis-takeover-storm.test.ts.
import { Cluster as IoredisCluster, Redis as IoredisRedis } from 'ioredis';
import { Cluster as ValkeyCluster, Redis as ValkeyRedis } from 'iovalkey';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisStore, isRedisStoreError } from '../../src/adapters/redis.js';
import type { WatchableTransport, WatchdogObserverEvents } from '../../src/index.js';
import { createWatchdog } from '../../src/watchdog.js';
import { createFakeTransport, type FakeWebRtcTransport } from '../helpers/fake-transport.js';
import { type RedisClusterServers, startRedisCluster } from '../helpers/redis-cluster.js';
import { type RedisServer, startRedisServer } from '../helpers/redis-server.js';
import { checkStoreOperations, checkTakeover } from '../helpers/redis-store-checks.js';

interface Closable {
	disconnect(): void;
	on(event: 'error', listener: (error: Error) => void): unknown;
	once(event: 'ready', listener: () => void): unknown;
	readonly status: string;
}

let cluster: RedisClusterServers;
let standalone: RedisServer;
const clients: Closable[] = [];

async function connected<T extends Closable>(client: T): Promise<T> {
	clients.push(client);
	client.on('error', () => {});
	if (client.status !== 'ready') await new Promise<void>((resolve) => client.once('ready', resolve));
	return client;
}

beforeAll(async () => {
	[cluster, standalone] = await Promise.all([startRedisCluster(3), startRedisServer()]);
}, 60_000);

afterAll(async () => {
	for (const client of clients.splice(0)) client.disconnect();
	await Promise.all([cluster?.close(), standalone?.close()]);
});

describe('the Redis store on a real Redis Cluster', () => {
	it('serves every operation through ioredis.Cluster, each on one key, spread over the masters', async () => {
		const client = await connected(new IoredisCluster([...cluster.startupNodes]));
		const store = createRedisStore({ client, keyPrefix: 'mw-io' });
		await checkStoreOperations(store, 'io');
		// The keys landed on more than one master: the store does not need one node.
		const perNode = await Promise.all(cluster.nodes.map((node) => node.dbsize()));
		expect(perNode.filter((n) => n > 0).length).toBeGreaterThan(1);
	});

	it('serves every operation through iovalkey Cluster, accepted like ioredis', async () => {
		const client = await connected(new ValkeyCluster([...cluster.startupNodes]));
		const store = createRedisStore({ client, keyPrefix: 'mw-valkey' });
		await checkStoreOperations(store, 'valkey');
	});

	it('keeps every key of one prefix in one hash slot when the prefix is a hash tag', async () => {
		const client = await connected(new IoredisCluster([...cluster.startupNodes]));
		const store = createRedisStore({ client, keyPrefix: '{mw-tag}' });
		await checkStoreOperations(store, 'tag');
		const keys = (await Promise.all(cluster.nodes.map((node) => node.keys()))).map((list) =>
			list.filter((key) => key.startsWith('{mw-tag}')),
		);
		expect(keys.filter((list) => list.length > 0)).toHaveLength(1); // one master holds them all
		const slots = new Set(await Promise.all(keys.flat().map((key) => client.cluster('KEYSLOT', key))));
		expect(slots.size).toBe(1);
	});

	it('carries a takeover announcement from one node to another through Cluster pub/sub', async () => {
		const [a, b] = await Promise.all([
			connected(new IoredisCluster([...cluster.startupNodes])),
			connected(new IoredisCluster([...cluster.startupNodes])),
		]);
		const subscriberB = await connected(b.duplicate());
		const storeA = createRedisStore({ client: a, subscriber: await connected(a.duplicate()) });
		const storeB = createRedisStore({ client: b, subscriber: subscriberB });
		await checkTakeover(storeA, storeB, 'alice');
	});
});

describe('the Redis store on a standalone server through iovalkey', () => {
	it('serves every operation and the takeover channel', async () => {
		const client = await connected(new ValkeyRedis({ host: standalone.host, port: standalone.port }));
		const other = await connected(new ValkeyRedis({ host: standalone.host, port: standalone.port }));
		const store = createRedisStore({ client, subscriber: await connected(client.duplicate()) });
		await checkStoreOperations(store, 'standalone');
		const storeB = createRedisStore({ client: other, subscriber: await connected(other.duplicate()) });
		await checkTakeover(store, storeB, 'bob');
	});

	it('closes nothing and reports storeerror when the announcing node cannot reach Redis', async () => {
		const up = await connected(new ValkeyRedis({ host: standalone.host, port: standalone.port }));
		const storeA = createRedisStore({ client: up, subscriber: await connected(up.duplicate()) });
		// Node B's client is not connected (a lazyConnect client never connected stands for Redis down).
		const down = new IoredisRedis({ host: standalone.host, port: standalone.port, lazyConnect: true });
		clients.push(down);
		const storeB = createRedisStore({ client: down, subscriber: down.duplicate() });
		const nodeA = createWatchdog({ store: storeA, takeover: storeA.takeover, maxPendingPerUser: 2 });
		const nodeB = createWatchdog({ store: storeB, takeover: storeB.takeover, maxPendingPerUser: 2 });
		try {
			const { transport } = createFakeTransport({ appData: { userId: 'dora' } });
			const watch = nodeA.watch(transport as FakeWebRtcTransport<Record<string, unknown>> & WatchableTransport);
			transport.connectClient();
			const errors: Array<WatchdogObserverEvents['storeerror']> = [];
			nodeB.observer.on('storeerror', (event) => errors.push(event));
			nodeB.bindSession('dora', new AbortController().signal);
			await new Promise((resolve) => setTimeout(resolve, 200));
			expect(watch.state).toBe('connected');
			expect(errors).toHaveLength(1);
			expect(errors[0]).toMatchObject({ operation: 'announceTakeover', userId: 'dora' });
			expect(isRedisStoreError(errors[0]?.error) && errors[0].error.failure).toBe('not-ready');
		} finally {
			nodeA.stop();
			nodeB.stop();
		}
	});

	it('still refuses what is not a client, naming the option', async () => {
		expect(() => createRedisStore({ client: {} as IoredisRedis })).toThrow(
			/`client` must be an ioredis client \(.*from ioredis or iovalkey\).* without .*publish/,
		);
		const client = await connected(new ValkeyRedis({ host: standalone.host, port: standalone.port }));
		expect(() => createRedisStore({ client, subscriber: client })).toThrow(/`subscriber` must be a connection of its own/);
		expect(() => createRedisStore({ client, subscriber: {} as never })).toThrow(
			/`subscriber` must be a second ioredis connection/,
		);
	});
});
