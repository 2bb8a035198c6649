// Node heap per watch at scale, on fake transports (test/helpers/fake-transport.ts): N fresh
// transports are created first, then `heapUsed` after gc() is read before and after watching them
// all with createWatchdog() and the default policy (per-user limits off). The difference over N is
// the heap per watch: the watch, its listeners on the transport, its timers, and what the
// watchdog keeps for it (maps, liveness entry when connected).
//
//   node --expose-gc --import tsx bench/heap-per-watch.ts [count] [rounds]
import v8 from 'node:v8';
import vm from 'node:vm';
import { createWatchdog } from '../src/index.js';
import { createFakeTransport } from '../test/helpers/fake-transport.js';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

const count = Number(process.argv[2] ?? 10_000);
const rounds = Number(process.argv[3] ?? 3);
const policy = { iceRestart: { perUser: false }, maxPendingPerUser: Number.POSITIVE_INFINITY } as const;

type Case = { name: string; dtlsState: 'new' | 'connected'; iceState: 'new' | 'completed'; inactivityTimeoutMs?: number };
const cases: Case[] = [
	{ name: 'connecting', dtlsState: 'new', iceState: 'new' },
	{
		name: 'connected, liveness off',
		dtlsState: 'connected',
		iceState: 'completed',
		inactivityTimeoutMs: Number.POSITIVE_INFINITY,
	},
	{ name: 'connected (default policy)', dtlsState: 'connected', iceState: 'completed' },
];

function measure(c: Case): number {
	const transports = Array.from(
		{ length: count },
		() => createFakeTransport({ dtlsState: c.dtlsState, iceState: c.iceState }).transport,
	);
	const watchdog = createWatchdog(
		c.inactivityTimeoutMs === undefined ? policy : { ...policy, inactivityTimeoutMs: c.inactivityTimeoutMs },
	);
	gc();
	gc();
	const heap0 = process.memoryUsage().heapUsed;
	for (const transport of transports) watchdog.watch(transport);
	gc();
	gc();
	const perWatch = (process.memoryUsage().heapUsed - heap0) / count;
	watchdog.stop();
	return perWatch;
}

for (const c of cases) {
	const samples: number[] = [];
	for (let i = 0; i < rounds; i++) samples.push(Math.round(measure(c)));
	samples.sort((a, b) => a - b);
	process.stdout.write(
		`${c.name.padEnd(28)} ${String(samples[Math.floor(rounds / 2)]).padStart(5)} B per watch (samples: ${samples.join(', ')}; ${count} watches)\n`,
	);
}
