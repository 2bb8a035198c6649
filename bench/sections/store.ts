// The store section of `npm run bench` (issue 19 item 5): decisions per second and p50/p99 latency
// of restartIce() gate decisions and pending-slot adds/removes, per store: in memory, one local
// redis-server, and a three-master Redis Cluster (both started here, 127.0.0.1, through the test
// helpers; ioredis clients with defaults). Measures in bench/store/measure.ts.
import os from 'node:os';
import { Cluster, Redis } from 'ioredis';
import { createRedisStore } from '../../src/adapters/redis.js';
import { MemoryStore } from '../../src/gate/memory-store.js';
import { startRedisCluster } from '../../test/helpers/redis-cluster.js';
import { startRedisServer } from '../../test/helpers/redis-server.js';
import { CONCURRENCY, measureStore, type OperationFigures } from '../store/measure.js';
import type { BenchSection } from './index.js';

async function ready(client: Redis | Cluster): Promise<void> {
	client.on('error', () => {});
	if (client.status !== 'ready') await new Promise((resolve) => client.once('ready', resolve));
}

async function run({ quick, log }: { readonly quick: boolean; readonly log: (line: string) => void }): Promise<string> {
	const count = quick ? 300 : 3_000;
	const rows: Array<{ store: string; figures: OperationFigures[] }> = [];
	const failures: string[] = [];

	log('  memory');
	rows.push({ store: 'memory', figures: await measureStore(new MemoryStore(), count, 'mem') });

	const server = await startRedisServer();
	const client = new Redis({ host: server.host, port: server.port });
	try {
		await ready(client);
		log('  redis-server');
		rows.push({ store: 'redis-server', figures: await measureStore(createRedisStore({ client }), count, 'one') });
	} catch (error) {
		failures.push(`redis-server: ${String(error)}`);
	} finally {
		client.disconnect();
		await server.close();
	}

	let cluster: Awaited<ReturnType<typeof startRedisCluster>> | undefined;
	let clusterClient: Cluster | undefined;
	try {
		cluster = await startRedisCluster(3);
		clusterClient = new Cluster([...cluster.startupNodes]);
		await ready(clusterClient);
		log('  Redis Cluster');
		rows.push({
			store: 'Redis Cluster (3 masters)',
			figures: await measureStore(createRedisStore({ client: clusterClient }), count, 'cl'),
		});
	} catch (error) {
		failures.push(`Redis Cluster: ${String(error)}`);
	} finally {
		clusterClient?.disconnect();
		await cluster?.close();
	}

	const version = (await import('node:child_process')).execFileSync('redis-server', ['--version'], { encoding: 'utf8' }).trim();
	const fmt = (n: number, digits: number) =>
		n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
	const lines = [
		'## Store: gate decisions and pending slots',
		'',
		`Measured ${new Date().toISOString().slice(0, 10)} on ${os.cpus()[0]?.model ?? 'unknown CPU'} (${os.cpus().length} cores), Node ${process.version}, ${version.split(' ').slice(0, 3).join(' ')}, 127.0.0.1, ioredis defaults. \`restartIce()\` decision: a watchdog on fake transports, one call per user (granted: the per-user window is consumed in the store); "storm breaker on" adds \`iceRestart.storm.cluster\` (one more script on one key). Pending slot: \`addPending\` then \`removePending\` on the store. Latency: ${count} single calls one at a time; throughput: ${count} calls with ${CONCURRENCY} in flight.${quick ? ' **Quick run (BENCH_QUICK): not representative.**' : ''}`,
		'',
		'| store | operation | per second (32 in flight) | p50 ms | p99 ms |',
		'|---|---|---:|---:|---:|',
		...rows.flatMap(({ store, figures }) =>
			figures.map((f) => `| ${store} | ${f.operation} | ${fmt(f.perSecond, 0)} | ${fmt(f.p50Ms, 3)} | ${fmt(f.p99Ms, 3)} |`),
		),
	];
	if (failures.length > 0) lines.push('', `Not measured: ${failures.join('; ')}`);
	if (rows.length === 0) throw new Error(`nothing measured: ${failures.join('; ')}`);
	return `${lines.join('\n')}\n`;
}

export const store: BenchSection = {
	name: 'store',
	title: 'restartIce() gate decisions and pending slots: memory, redis-server, Redis Cluster',
	run,
};
