// The Redis store through a real Sentinel failover: a master, a replica and a sentinel
// (`redis-server --sentinel`), an ioredis client that finds the master through the sentinel. The
// master is killed (SIGKILL) mid-test: what was granted before stays granted on the promoted
// replica, what is asked during the failover follows `onStoreError`, and service resumes after.
// No mediasoup worker (unit project): fake transports stand for the SFU's.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisStore } from '../../src/adapters/redis.js';
import { isIceRestartDeniedError, type WatchableTransport } from '../../src/index.js';
import { createWatchdog } from '../../src/watchdog.js';
import { createFakeTransport, type FakeWebRtcTransport } from '../helpers/fake-transport.js';
import { type RedisSentinelServers, startRedisSentinel } from '../helpers/redis-sentinel.js';

let servers: RedisSentinelServers;
let client: Redis;

beforeAll(async () => {
	servers = await startRedisSentinel();
	client = new Redis({ sentinels: [...servers.sentinels], name: servers.name });
	client.on('error', () => {}); // expected while the master is down
	if (client.status !== 'ready') await new Promise((resolve) => client.once('ready', resolve));
}, 60_000);

afterAll(async () => {
	client?.disconnect();
	await servers?.close();
});

describe('the Redis store through a Sentinel failover', () => {
	it('keeps what was granted, follows onStoreError during the failover, and serves again after', async () => {
		const store = createRedisStore({ client, commandTimeoutMs: 500 });
		const watchdog = createWatchdog({
			store,
			iceRestart: { perUser: { limit: 1, windowMs: 30_000 }, reconnectTimeoutMs: Number.POSITIVE_INFINITY },
			connectTimeoutMs: Number.POSITIVE_INFINITY,
			inactivityTimeoutMs: Number.POSITIVE_INFINITY,
			maxPendingPerUser: 2,
		});
		const connect = (userId: string, connectClient = true) => {
			const { transport } = createFakeTransport({ appData: { userId } });
			const watch = watchdog.watch(transport as FakeWebRtcTransport<Record<string, unknown>> & WatchableTransport);
			if (connectClient) transport.connectClient();
			return watch;
		};
		const ask = async (userId: string) => {
			const started = performance.now();
			try {
				await connect(userId).restartIce();
				return { outcome: 'granted', ms: performance.now() - started };
			} catch (error) {
				if (!isIceRestartDeniedError(error)) throw error;
				const cause = error.cause as { failure?: string } | undefined;
				return { outcome: 'denied', reason: error.reason, failure: cause?.failure, ms: performance.now() - started };
			}
		};
		try {
			expect(await ask('alice')).toMatchObject({ outcome: 'granted' });
			connect('carol', false); // a never-connected transport: one pending slot
			await new Promise((resolve) => setTimeout(resolve, 50));
			expect(await store.countPending('carol')).toBe(1);
			expect(await client.wait(1, 2_000)).toBe(1); // the replica has both before the crash

			const killedAt = performance.now();
			await servers.master.kill();
			const during = await ask('bob');
			expect(during).toMatchObject({ outcome: 'denied', reason: 'store-unavailable' });
			expect(during.ms).toBeLessThan(1_000); // not-ready at once, or commandTimeoutMs (500)

			await servers.failedOver(20_000);
			const promotedMs = performance.now() - killedAt;
			const deadline = Date.now() + 15_000;
			while ((await client.ping().catch(() => 'down')) !== 'PONG' || client.status !== 'ready') {
				if (Date.now() > deadline) throw new Error(`the client did not reach the promoted master (status ${client.status})`);
				await new Promise((resolve) => setTimeout(resolve, 50));
			}
			const servingMs = performance.now() - killedAt;

			expect(await ask('alice')).toMatchObject({ outcome: 'denied', reason: 'rate-limited' }); // granted stays granted
			expect(await store.countPending('carol')).toBe(1);
			// Service resumes: a user never asked before. (Not bob: when his request was already on the wire
			// as the master died, it is denied by commandTimeoutMs but ioredis may resend it to the new
			// master, where it then counts in his window; docs/redis.md says so.)
			expect(await ask('erin')).toMatchObject({ outcome: 'granted' });
			console.info(
				`[redis sentinel] during the failover: denied ${during.reason} (${during.failure}) in ${during.ms.toFixed(0)} ms; replica promoted ${promotedMs.toFixed(0)} ms after the kill, client serving again at ${servingMs.toFixed(0)} ms`,
			);
		} finally {
			watchdog.stop();
		}
	}, 60_000);
});
