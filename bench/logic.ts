// The scheduler's own cost, isolated from the worker: the same watchdog on fake transports
// (test/helpers/fake-transport.ts) whose getStats() answers at once, against a bare loop making
// the same calls at the same rate; what is left is the watchdog's logic. Also the heap of a
// connected watch with liveness off and on, each on fresh transports.
import v8 from 'node:v8';
import vm from 'node:vm';
import { createWatchdog } from '../src/index.js';
import { createFakeTransport, type FakeWebRtcTransport } from '../test/helpers/fake-transport.js';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

export interface LogicResult {
	readonly transports: number;
	/** Node heap per connected watch on fresh fake transports, liveness off and on, bytes. */
	readonly heapPerWatch: { readonly livenessOff: number; readonly livenessOn: number };
	readonly requestsPerSecond: number;
	/** µs of Node CPU per getStats() call: the median of alternated runs, watchdog and bare. */
	readonly watchdogUsPerCall: number;
	readonly bareUsPerCall: number;
	readonly runs: { readonly watchdog: readonly number[]; readonly bare: readonly number[] };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const median = (values: readonly number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
const policy = { iceRestart: { perUser: false }, maxPendingPerUser: Number.POSITIVE_INFINITY } as const;

let calls = 0;

function fakeTransports(count: number): FakeWebRtcTransport[] {
	return Array.from({ length: count }, () => {
		const { transport } = createFakeTransport({ dtlsState: 'connected', iceState: 'completed' });
		const getStats = transport.getStats.bind(transport);
		transport.getStats = () => {
			calls += 1;
			transport.counters.bytesSent += 64; // a consent reply per poll: alive
			return getStats();
		};
		return transport as unknown as FakeWebRtcTransport;
	});
}

function heapPerWatch(count: number, inactivityTimeoutMs: number): number {
	const transports = fakeTransports(count);
	gc();
	const heap0 = process.memoryUsage().heapUsed;
	const watchdog = createWatchdog({ ...policy, inactivityTimeoutMs });
	for (const transport of transports) watchdog.watch(transport);
	gc();
	const perWatch = (process.memoryUsage().heapUsed - heap0) / count;
	watchdog.stop();
	return Math.round(perWatch);
}

export async function measureLogic(count: number, requestsPerSecond: number, windowMs: number): Promise<LogicResult> {
	const heap = { livenessOff: heapPerWatch(count, Number.POSITIVE_INFINITY), livenessOn: heapPerWatch(count, 8_000) };
	const transports = fakeTransports(count);
	const measure = async (): Promise<number> => {
		await sleep(1_000);
		const calls0 = calls;
		const cpu0 = process.cpuUsage();
		await sleep(windowMs);
		const cpu = process.cpuUsage(cpu0);
		return (cpu.user + cpu.system) / (calls - calls0);
	};
	const runs = { watchdog: [] as number[], bare: [] as number[] };
	for (let cycle = 0; cycle < 3; cycle++) {
		const watchdog = createWatchdog({ ...policy, liveness: { maxStatsRequestsPerSecond: requestsPerSecond } });
		// (These fakes always answer as alive; one an earlier run closed anyway is not watched again.)
		for (const transport of transports) if (!transport.closed) watchdog.watch(transport);
		runs.watchdog.push(await measure());
		watchdog.stop();

		let cursor = 0;
		let credit = 0;
		const bare = setInterval(() => {
			credit += requestsPerSecond / 50;
			while (credit >= 1) {
				credit -= 1;
				(transports[cursor++ % count] as FakeWebRtcTransport).getStats().then(
					(stats) => stats[0]?.bytesReceived,
					() => undefined,
				);
			}
		}, 20);
		runs.bare.push(await measure());
		clearInterval(bare);
	}
	const round = (us: number): number => Math.round(us * 10) / 10;
	return {
		transports: count,
		heapPerWatch: heap,
		requestsPerSecond,
		watchdogUsPerCall: round(median(runs.watchdog)),
		bareUsPerCall: round(median(runs.bare)),
		runs: { watchdog: runs.watchdog.map(round), bare: runs.bare.map(round) },
	};
}
