// The scheduler's own CPU per poll, isolated from the worker: the same watchdog on fake
// transports whose getStats() answers at once (test/helpers/fake-transport.ts), against a bare
// loop making the same calls at the same rate. What is left is the watchdog's logic.
import v8 from 'node:v8';
import vm from 'node:vm';
import { createWatchdog } from '../src/index.js';
import { createFakeTransport, type FakeWebRtcTransport } from '../test/helpers/fake-transport.js';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

export interface LogicResult {
	readonly transports: number;
	/** Node heap per connected watch (fake transports), liveness off and on, bytes. */
	readonly heapPerWatch: { readonly livenessOff: number; readonly livenessOn: number };
	readonly requestsPerSecond: number;
	/** µs of Node CPU per getStats() call, watchdog and bare. */
	readonly watchdogUsPerCall: number;
	readonly bareUsPerCall: number;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export async function measureLogic(count: number, requestsPerSecond: number, windowMs: number): Promise<LogicResult> {
	const transports: FakeWebRtcTransport[] = [];
	let calls = 0;
	for (let i = 0; i < count; i++) {
		const { transport } = createFakeTransport({ dtlsState: 'connected', iceState: 'completed' });
		const getStats = transport.getStats.bind(transport);
		transport.getStats = () => {
			calls += 1;
			transport.counters.bytesSent += 64; // a consent reply per poll: alive
			return getStats();
		};
		transports.push(transport as unknown as FakeWebRtcTransport);
	}
	const measure = async (): Promise<number> => {
		await sleep(1_000);
		const calls0 = calls;
		const cpu0 = process.cpuUsage();
		await sleep(windowMs);
		const cpu = process.cpuUsage(cpu0);
		return (cpu.user + cpu.system) / (calls - calls0);
	};

	const heapOf = (inactivityTimeoutMs: number): number => {
		gc();
		const heap0 = process.memoryUsage().heapUsed;
		const watchdog = createWatchdog({
			iceRestart: { perUser: false },
			maxPendingPerUser: Number.POSITIVE_INFINITY,
			inactivityTimeoutMs,
		});
		for (const transport of transports) watchdog.watch(transport);
		gc();
		const perWatch = (process.memoryUsage().heapUsed - heap0) / count;
		watchdog.stop();
		return Math.round(perWatch);
	};
	heapOf(8_000); // warm-up: the transports' emitters grow their listener tables once
	const heapPerWatch = { livenessOff: heapOf(Number.POSITIVE_INFINITY), livenessOn: heapOf(8_000) };

	const watchdog = createWatchdog({
		iceRestart: { perUser: false },
		maxPendingPerUser: Number.POSITIVE_INFINITY,
		liveness: { maxStatsRequestsPerSecond: requestsPerSecond },
	});
	for (const transport of transports) watchdog.watch(transport);
	const watchdogUsPerCall = await measure();
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
	const bareUsPerCall = await measure();
	clearInterval(bare);
	return {
		transports: count,
		heapPerWatch,
		requestsPerSecond,
		watchdogUsPerCall: Math.round(watchdogUsPerCall * 10) / 10,
		bareUsPerCall: Math.round(bareUsPerCall * 10) / 10,
	};
}
