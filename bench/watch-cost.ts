// Issue 17's two figures on fake transports (test/helpers/fake-transport.ts), without a worker:
//
//   heap per watch   `heapUsed` after gc(), after watching N connected transports minus before,
//                    over N (the watch, its listeners on the transport's emitters, the watchdog's
//                    maps and the liveness entry), as bench/scale-real measures it: one watchdog,
//                    4 workers, a userId per pair of transports, one app `close` listener per watch.
//                    Read right after watching, and again once every transport was polled.
//   CPU per poll     process.cpuUsage() over a window of the scheduler's poll loop (real timers,
//                    200 getStats()/s per worker), over the polls made. getStats() resolves at once
//                    with a fresh stat whose bytesReceived grew; its own cost (a few µs) is measured
//                    apart and reported, so the scheduler's share can be read.
//
//   CPU per poll,    the same poll loop on test/helpers/manual-clock.ts's ManualClock (timers fired
//   virtual time     in due order, promise jobs settled after each), for 60 virtual seconds as fast
//                    as it goes: the JS cost of the scheduler's path alone, without Node's timers,
//                    and steadier on a busy machine.
//
//   node --expose-gc --import tsx bench/watch-cost.ts [count] [windowMs]
import v8 from 'node:v8';
import vm from 'node:vm';
import { createWatchdog } from '../src/index.js';
import { createWatchdog as createWatchdogOn } from '../src/watchdog.js';
import { FakeWebRtcTransport, FakeWorker } from '../test/helpers/fake-transport.js';
import { ManualClock } from '../test/helpers/manual-clock.js';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

const count = Number(process.argv[2] ?? 5_000);
const windowMs = Number(process.argv[3] ?? 10_000);
const WORKERS = 4;
const PER_WORKER = 200;

let polls = 0;
/** A stat like mediasoup's, built per call (as the worker's answer is parsed per call). */
function makeGetStats(transport: FakeWebRtcTransport): () => Promise<unknown[]> {
	let bytes = 0;
	return () => {
		polls += 1;
		bytes += 100;
		return Promise.resolve([
			{
				type: 'webrtc-transport',
				transportId: transport.id,
				timestamp: 0,
				bytesReceived: bytes,
				bytesSent: bytes,
				rtpBytesReceived: 0,
				rtpBytesSent: 0,
				rtxBytesReceived: 0,
				rtxBytesSent: 0,
				probationBytesSent: 0,
				iceState: 'completed',
				iceSelectedTuple: { localIp: '127.0.0.1', localPort: 40000, remoteIp: '127.0.0.1', remotePort: 50000, protocol: 'udp' },
				dtlsState: 'connected',
			},
		]);
	};
}

/** A CPU profile of the window alone (WATCH_COST_PROFILE=path): its cost is in the figures then. */
async function startProfile(): Promise<(path: string) => Promise<void>> {
	const { Session } = await import('node:inspector/promises');
	const { writeFile } = await import('node:fs/promises');
	const session = new Session();
	session.connect();
	await session.post('Profiler.enable');
	await session.post('Profiler.setSamplingInterval', { interval: 50 });
	await session.post('Profiler.start');
	return async (path) => {
		const { profile } = await session.post('Profiler.stop');
		await writeFile(path, JSON.stringify(profile));
		session.disconnect();
	};
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const heap = (): number => {
	gc();
	gc();
	return process.memoryUsage().heapUsed;
};

async function main(): Promise<void> {
	const workers = Array.from({ length: WORKERS }, () => new FakeWorker());
	const transports = Array.from({ length: count }, () => {
		const t = new FakeWebRtcTransport({ dtlsState: 'connected', iceState: 'completed' });
		t.getStatsImpl = makeGetStats(t) as never;
		return t;
	});
	const watchdog = createWatchdog({
		liveness: { maxStatsRequestsPerSecond: PER_WORKER },
		iceRestart: { perUser: false },
		maxPendingPerUser: Number.POSITIVE_INFINITY,
	});
	let closes = 0;
	// The process alone (same heap, nothing watched) over the same window: what the poll loop adds is above it.
	const idle0 = process.cpuUsage();
	const i0 = performance.now();
	await sleep(windowMs);
	const idle1 = process.cpuUsage(idle0);
	const idleUsPerSecond = ((idle1.user + idle1.system) * 1000) / (performance.now() - i0);
	await sleep(0);
	const heap0 = heap();
	transports.forEach((transport, i) => {
		const watch = watchdog.watch(transport, { worker: workers[i % WORKERS] as FakeWorker, userId: `user-${i >> 1}` });
		watch.on('close', () => {
			closes += 1;
		});
	});
	const heap1 = heap();
	const perWatch = (heap1 - heap0) / count;

	// Every transport polled at least once (1 250 per worker at 200/s: 6.25 s), then the window.
	const periodMs = ((count / WORKERS) * 1000) / PER_WORKER;
	await sleep(periodMs + 1_000);
	const perWatchPolled = (heap() - heap0) / count;
	const profile = process.env.WATCH_COST_PROFILE ? await startProfile() : undefined;
	// Three windows, the median reported: the machine may be busy with other work.
	const windows: Array<{ us: number; user: number; system: number; polls: number; ms: number }> = [];
	for (let w = 0; w < 3; w++) {
		const polls0 = polls;
		const cpu0 = process.cpuUsage();
		const t0 = performance.now();
		await sleep(windowMs);
		const cpu = process.cpuUsage(cpu0);
		windows.push({
			us: cpu.user + cpu.system,
			user: cpu.user,
			system: cpu.system,
			polls: polls - polls0,
			ms: performance.now() - t0,
		});
	}
	if (profile) await profile(process.env.WATCH_COST_PROFILE as string);
	windows.sort((a, b) => a.us / a.polls - b.us / b.polls);
	const { us: cpuUs, polls: made, ms: elapsed, user, system } = windows[1] as (typeof windows)[number];
	const snap = watchdog.snapshot();
	watchdog.stop();

	// The fake getStats() alone, per call (promise resolved, then awaited like the scheduler does).
	const probe = makeGetStats(transports[0] as FakeWebRtcTransport);
	const c0 = process.cpuUsage();
	const n = 200_000;
	let sink = 0;
	for (let i = 0; i < n; i++) {
		probe().then((v) => {
			sink += v.length;
		});
		if (i % 1000 === 999) await Promise.resolve();
	}
	await sleep(10);
	const c1 = process.cpuUsage(c0);
	const fakeUs = (c1.user + c1.system) / n;

	const out = {
		count,
		heapPerWatchB: Math.round(perWatch),
		heapPerWatchPolledB: Math.round(perWatchPolled),
		windowMs: Math.round(elapsed),
		polls: made,
		pollsPerSecond: Math.round((made * 1000) / elapsed),
		cpuPercentOfCore: Math.round((cpuUs / 1000 / elapsed) * 1000) / 10,
		cpuPerPollUs: Math.round((cpuUs / made) * 10) / 10,
		userSystemPerPollUs: [Math.round((user / made) * 10) / 10, Math.round((system / made) * 10) / 10],
		windowsPerPollUs: windows.map((w) => Math.round((w.us / w.polls) * 10) / 10),
		idleCpuPercentOfCore: Math.round(idleUsPerSecond / 100) / 100,
		cpuPerPollAboveIdleUs: Math.round(((cpuUs - (idleUsPerSecond * elapsed) / 1000) / made) * 10) / 10,
		fakeGetStatsUs: Math.round(fakeUs * 10) / 10,
		closes,
		tracked: snap.liveness.tracked,
		sink: sink > 0,
	};
	process.stdout.write(`${JSON.stringify(out)}\n`);
}

async function virtualTime(): Promise<void> {
	const clock = new ManualClock(); // due order, ties in the order set, promise jobs settled after each
	const workers = Array.from({ length: WORKERS }, () => new FakeWorker());
	const watchdog = createWatchdogOn(
		{
			liveness: { maxStatsRequestsPerSecond: PER_WORKER },
			iceRestart: { perUser: false },
			maxPendingPerUser: Number.POSITIVE_INFINITY,
		},
		{ clock },
	);
	for (let i = 0; i < count; i++) {
		const t = new FakeWebRtcTransport({ dtlsState: 'connected', iceState: 'completed' });
		t.getStatsImpl = makeGetStats(t) as never;
		watchdog.watch(t, { worker: workers[i % WORKERS] as FakeWorker, userId: `user-${i >> 1}` }).on('close', () => {});
	}
	await clock.advance(10_000); // warm up: every transport polled once or more
	const samples: number[] = [];
	for (let round = 0; round < 5; round++) {
		const polls0 = polls;
		const cpu0 = process.cpuUsage();
		await clock.advance(60_000);
		const cpu = process.cpuUsage(cpu0);
		samples.push((cpu.user + cpu.system) / (polls - polls0));
	}
	watchdog.stop();
	samples.sort((a, b) => a - b);
	const shown = samples.map((us) => Math.round(us * 10) / 10);
	process.stdout.write(`${JSON.stringify({ virtualCpuPerPollUs: shown[2], samples: shown, snapshotTracked: count })}\n`);
}

if (process.argv[4] !== 'virtual-only') await main();
await virtualTime();
