// A real Redis Cluster for tests: three `redis-server --cluster-enabled yes` masters on 127.0.0.1
// (free ports, temp dirs, no persistence, no replicas), joined with `redis-cli --cluster create`,
// ready once every node says `cluster_state:ok`.
//
//   const cluster = await startRedisCluster();
//   const client = new Redis.Cluster(cluster.startupNodes);
//   afterAll(() => cluster.close());
import { spawnSync } from 'node:child_process';
import { type RedisServer, startRedisServer } from './redis-server.js';

const REDIS_CLI = process.env.REDIS_CLI_BIN ?? 'redis-cli';
const READY_TIMEOUT_MS = 15_000;

export interface RedisClusterServers {
	readonly nodes: readonly RedisServer[];
	readonly startupNodes: ReadonlyArray<{ host: string; port: number }>;
	close(): Promise<void>;
}

export async function startRedisCluster(masters = 3): Promise<RedisClusterServers> {
	const started = await Promise.allSettled(
		Array.from({ length: masters }, () =>
			startRedisServer({
				extraArgs: ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '2000'],
			}),
		),
	);
	const nodes = started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
	const close = async () => {
		await Promise.all(nodes.map((node) => node.close()));
	};
	try {
		const failed = started.find((result) => result.status === 'rejected');
		if (failed) throw failed.reason;
		const create = spawnSync(
			REDIS_CLI,
			['--cluster', 'create', ...nodes.map((node) => `127.0.0.1:${node.port}`), '--cluster-replicas', '0', '--cluster-yes'],
			{ encoding: 'utf8', timeout: READY_TIMEOUT_MS },
		);
		if (create.error || create.status !== 0) {
			throw new Error(
				`redis-cli --cluster create failed (${create.error?.message ?? `exit ${create.status}`}): these tests need Debian's redis-tools (redis-cli) beside redis-server, or REDIS_CLI_BIN\n${create.stdout}\n${create.stderr}`,
			);
		}
		const deadline = Date.now() + READY_TIMEOUT_MS;
		for (const node of nodes) {
			while (!(await node.command('CLUSTER', 'INFO')).includes('cluster_state:ok')) {
				if (Date.now() > deadline) throw new Error(`cluster node ${node.port} not ok within ${READY_TIMEOUT_MS} ms`);
				await new Promise((resolve) => setTimeout(resolve, 50));
			}
		}
	} catch (error) {
		await close();
		throw error;
	}
	return { nodes, startupNodes: nodes.map((node) => ({ host: node.host, port: node.port })), close };
}
