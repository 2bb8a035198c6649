// A real Sentinel setup for tests: a master, one replica and one sentinel (`redis-server
// <conf> --sentinel`, quorum 1, master down after 500 ms), all on 127.0.0.1. `master` can be
// killed (SIGKILL) to make the sentinel promote the replica.
//
//   const s = await startRedisSentinel();
//   const client = new Redis({ sentinels: s.sentinels, name: s.name });
//   await s.master.kill(); await s.failedOver();
import { type RedisServer, startRedisServer } from './redis-server.js';

const NAME = 'mediasoup-watchdog-test';
const READY_TIMEOUT_MS = 15_000;

export interface RedisSentinelServers {
	readonly name: string;
	readonly master: RedisServer;
	readonly replica: RedisServer;
	readonly sentinel: RedisServer;
	readonly sentinels: ReadonlyArray<{ host: string; port: number }>;
	/** Resolves once the sentinel names the replica as the master (after `master.kill()`). */
	failedOver(timeoutMs?: number): Promise<void>;
	close(): Promise<void>;
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = READY_TIMEOUT_MS): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (!(await check().catch(() => false))) {
		if (Date.now() > deadline) throw new Error(`${what} within ${timeoutMs} ms`);
		await new Promise((resolve) => setTimeout(resolve, 50));
	}
}

export async function startRedisSentinel(): Promise<RedisSentinelServers> {
	const servers: RedisServer[] = [];
	const close = async () => {
		await Promise.all(servers.map((server) => server.close()));
	};
	try {
		const master = await startRedisServer();
		servers.push(master);
		const replica = await startRedisServer({ extraArgs: ['--replicaof', '127.0.0.1', String(master.port)] });
		servers.push(replica);
		await until('the replica did not sync', async () =>
			(await replica.command('INFO', 'replication')).includes('master_link_status:up'),
		);
		const sentinel = await startRedisServer({
			sentinelConfig: [
				`sentinel monitor ${NAME} 127.0.0.1 ${master.port} 1`,
				`sentinel down-after-milliseconds ${NAME} 500`,
				`sentinel failover-timeout ${NAME} 5000`,
				`sentinel parallel-syncs ${NAME} 1`,
			].join('\n'),
		});
		servers.push(sentinel);
		await until('the sentinel did not discover the replica', async () =>
			(await sentinel.command('SENTINEL', 'REPLICAS', NAME)).includes(String(replica.port)),
		);
		return {
			name: NAME,
			master,
			replica,
			sentinel,
			sentinels: [{ host: sentinel.host, port: sentinel.port }],
			failedOver: (timeoutMs = READY_TIMEOUT_MS) =>
				until(
					'the sentinel did not promote the replica',
					async () =>
						(await sentinel.command('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', NAME)).includes(String(replica.port)) &&
						(await replica.command('INFO', 'replication')).includes('role:master'),
					timeoutMs,
				),
			close,
		};
	} catch (error) {
		await close();
		throw error;
	}
}
