// Cost of liveness at scale, on one real mediasoup worker through a WebRtcServer: N transports,
// each ICE- and DTLS-connected by a real (minimal) client in a child process that then sends one
// consent check every 2.5 s. In the same run, four phases are measured on the same transports:
//   idle       nothing polls (baseline: the clients' consent checks, the worker's replies)
//   watchdog   createWatchdog() with the default policy watching every transport
//   bare       the same number of getStats() per second as the watchdog, with no logic at all
//   naive      one setInterval(() => transport.getStats(), 2 000) per transport, as apps write it
import { type ChildProcess, fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import v8 from 'node:v8';
import vm from 'node:vm';
import type { types } from 'mediasoup';
import { createWatchdog, DEFAULT_POLICY, type WatchdogSnapshot } from '../src/index.js';
import { busiestWindow } from '../test/helpers/busiest-window.js';
import { createTestRouter, createTestWorker, type Worker } from '../test/helpers/mediasoup.js';
import type { ChildMessage, ParentMessage, StunTarget } from './stun-clients.js';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

const CHILD_ENTRY = fileURLToPath(new URL('./stun-clients.ts', import.meta.url));
const TSX_LOADER = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const CLOCK_TICKS = 100; // sysconf(_SC_CLK_TCK) on Linux

export interface PhaseResult {
	readonly name: string;
	readonly seconds: number;
	/** Node process CPU, % of one core: the median of one-second samples. */
	readonly nodeCpu: number;
	/** Worker process CPU, % of one core, over the whole window. */
	readonly workerCpu: number;
	/** Event-loop delay p99 in ms. */
	readonly eventLoopP99Ms: number;
	/** Worker requests (getStats + dump) per second, mean over the window. */
	readonly requestsPerSecond: number;
	/** The most requests sent within any 1 000 ms (a sliding window over every send time). */
	readonly maxRequestsIn1s: number;
}

export interface CostResult {
	readonly transports: number;
	readonly connected: number;
	readonly setupSeconds: number;
	/** watchdog and bare: the mean of two alternated runs (see `runs`). */
	readonly phases: Record<'idle' | 'watchdog' | 'bare' | 'naive', PhaseResult>;
	readonly runs: { readonly watchdog: readonly PhaseResult[]; readonly bare: readonly PhaseResult[] };
	/** Node heap per watch right after watching, and after the measured window (bytes). */
	readonly heapPerWatch: { readonly fresh: number; readonly steady: number };
	/** Node heap per naive poller (timer, closure, state), bytes. */
	readonly heapPerNaive: number;
	readonly snapshot: WatchdogSnapshot['liveness'];
	readonly closes: WatchdogSnapshot['closes'];
	/** What the naive pattern would have closed (no growth of bytesReceived for inactivityTimeoutMs). */
	readonly naiveWouldClose: number;
}

export interface CostOptions {
	/** How many times the watchdog and bare phases alternate. */
	readonly cycles: number;
	readonly warmupSeconds: number;
	readonly windowSeconds: number;
	readonly log: (line: string) => void;
}

export async function measureCost(count: number, options: CostOptions): Promise<CostResult> {
	const { log } = options;
	const setupStarted = performance.now();
	const worker = await createTestWorker({ logLevel: 'error' });
	const child = fork(CHILD_ENTRY, [], { execArgv: ['--import', TSX_LOADER], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
	try {
		const router = await createTestRouter(worker);
		const server = await worker.createWebRtcServer({ listenInfos: [{ protocol: 'udp', ip: '127.0.0.1' }] });
		const fingerprint = await nextMessage(child, 'fingerprint');

		const transports: types.WebRtcTransport[] = [];
		for (let i = 0; i < count; i += 250) {
			const batch = Array.from({ length: Math.min(250, count - i) }, () =>
				router.createWebRtcTransport({ webRtcServer: server, enableUdp: true, enableTcp: false }),
			);
			transports.push(...(await Promise.all(batch)));
		}
		const dtlsParameters: types.DtlsParameters = {
			role: 'client',
			fingerprints: [{ algorithm: 'sha-256', value: fingerprint.value }],
		};
		for (let i = 0; i < count; i += 250) {
			await Promise.all(transports.slice(i, i + 250).map((t) => t.connect({ dtlsParameters })));
		}
		const targets: StunTarget[] = transports.map((t) => {
			const candidate = t.iceCandidates[0];
			if (!candidate) throw new Error('transport without ICE candidate');
			return {
				ufrag: t.iceParameters.usernameFragment,
				password: t.iceParameters.password,
				ip: candidate.ip,
				port: candidate.port,
			};
		});
		log(`  ${count} transports created in ${seconds(setupStarted)} s; connecting ICE + DTLS…`);
		const connectedMessage = nextMessage(child, 'connected', (m) => {
			if (m.type === 'progress') log(`  … ${m.done} clients done`);
		});
		child.send({ type: 'connect', targets } satisfies ParentMessage);
		const done = await connectedMessage;
		await sleep(500);
		const connected = transports.filter((t) => t.dtlsState === 'connected').length;
		log(`  ICE+DTLS: ${done.ok} ok, ${done.failed} failed; ${connected} transports DTLS-connected (${seconds(setupStarted)} s)`);

		// Record when each worker request the phases make was sent, the same way for all of them.
		let sentAt: number[] = [];
		for (const transport of transports) {
			const getStats = transport.getStats.bind(transport);
			const dump = transport.dump.bind(transport);
			transport.getStats = () => {
				sentAt.push(performance.now());
				return getStats();
			};
			transport.dump = () => {
				sentAt.push(performance.now());
				return dump();
			};
		}
		const setupSeconds = seconds(setupStarted);

		const phase = async (name: PhaseResult['name']): Promise<PhaseResult> => {
			await sleep(options.warmupSeconds * 1000);
			// One sample per second of Node CPU; the median of Node CPU resists bursts of
			// load from other processes on a shared machine.
			const nodeCpuPerSecond: number[] = [];
			let mark = { at: performance.now(), cpu: process.cpuUsage() };
			const sampler = setInterval(() => {
				const now = { at: performance.now(), cpu: process.cpuUsage() };
				const secondsElapsed = (now.at - mark.at) / 1000;
				const used = now.cpu.user - mark.cpu.user + now.cpu.system - mark.cpu.system;
				nodeCpuPerSecond.push((used / 1e6 / secondsElapsed) * 100);
				mark = now;
			}, 1000);
			const eld = monitorEventLoopDelay({ resolution: 1 });
			eld.enable();
			const worker0 = workerTicks(worker.pid);
			sentAt = [];
			const started = performance.now();
			await sleep(options.windowSeconds * 1000);
			const elapsed = (performance.now() - started) / 1000;
			const workerUsed = (workerTicks(worker.pid) - worker0) / CLOCK_TICKS;
			eld.disable();
			clearInterval(sampler);
			const result: PhaseResult = {
				name,
				seconds: round(elapsed, 1),
				nodeCpu: round(median(nodeCpuPerSecond), 2),
				workerCpu: round((workerUsed / elapsed) * 100, 2),
				eventLoopP99Ms: round(eld.percentile(99) / 1e6, 1),
				requestsPerSecond: round(sentAt.length / elapsed, 1),
				maxRequestsIn1s: busiestWindow(sentAt, 1_000),
			};
			log(`  ${name}: ${JSON.stringify(result)}`);
			return result;
		};

		const idle = await phase('idle');

		// The watchdog, default policy (per-user limits off: these transports have no user).
		let heapFresh = 0;
		let heapSteady = 0;
		let snapshot: WatchdogSnapshot | undefined;
		const closes: Record<string, number> = {};
		const watchdogPhase = async (): Promise<PhaseResult> => {
			gc();
			const heap0 = process.memoryUsage().heapUsed;
			const watchdog = createWatchdog({ iceRestart: { perUser: false }, maxPendingPerUser: Number.POSITIVE_INFINITY });
			for (const transport of transports) watchdog.watch(transport, { worker });
			gc();
			heapFresh ||= (process.memoryUsage().heapUsed - heap0) / count;
			const result = await phase('watchdog');
			gc();
			heapSteady ||= (process.memoryUsage().heapUsed - heap0) / count;
			snapshot = watchdog.snapshot();
			for (const [reason, n] of Object.entries(snapshot.closes)) closes[reason] = (closes[reason] ?? 0) + (n ?? 0);
			watchdog.stop();
			return result;
		};

		// Bare getStats at the watchdog's rate, round-robin, no logic.
		const barePhase = async (rate: number): Promise<PhaseResult> => {
			let cursor = 0;
			let credit = 0;
			const bare = setInterval(() => {
				credit += rate / 50;
				while (credit >= 1) {
					credit -= 1;
					const transport = transports[cursor++ % count] as types.WebRtcTransport;
					transport.getStats().then(
						(stats) => stats[0]?.bytesReceived,
						() => undefined,
					);
				}
			}, 20);
			const result = await phase('bare');
			clearInterval(bare);
			return result;
		};

		// Alternated three times, so that load from elsewhere on the machine hits both alike.
		const watchdogRuns: PhaseResult[] = [];
		const bareRuns: PhaseResult[] = [];
		for (let cycle = 0; cycle < options.cycles; cycle++) {
			watchdogRuns.push(await watchdogPhase());
			bareRuns.push(await barePhase(snapshot?.liveness.requestsPerSecond ?? 0));
		}
		if (!snapshot) throw new Error('no watchdog snapshot');

		// The naive pattern: a timer per transport, started when it connected (spread over 2 s).
		gc();
		const heapNaive0 = process.memoryUsage().heapUsed;
		const timers: NodeJS.Timeout[] = [];
		let naiveWouldClose = 0;
		const intervalMs = DEFAULT_POLICY.liveness.pollIntervalMs;
		const timeoutMs = DEFAULT_POLICY.inactivityTimeoutMs;
		for (const transport of transports) {
			const state = { bytes: -1, grewAt: performance.now(), closed: false };
			const poll = (): void => {
				transport.getStats().then(
					(stats) => {
						const bytes = stats[0]?.bytesReceived ?? 0;
						const now = performance.now();
						if (bytes !== state.bytes) {
							state.bytes = bytes;
							state.grewAt = now;
						} else if (!state.closed && now - state.grewAt >= timeoutMs) {
							state.closed = true; // a real app would close the transport here
							naiveWouldClose += 1;
						}
					},
					() => undefined,
				);
			};
			timers.push(setTimeout(() => timers.push(setInterval(poll, intervalMs)), Math.random() * intervalMs));
		}
		gc();
		const heapPerNaive = (process.memoryUsage().heapUsed - heapNaive0) / count;
		const naivePhase = await phase('naive');
		for (const timer of timers) clearTimeout(timer);

		return {
			transports: count,
			connected,
			setupSeconds,
			phases: { idle, watchdog: meanOf(watchdogRuns), bare: meanOf(bareRuns), naive: naivePhase },
			runs: { watchdog: watchdogRuns, bare: bareRuns },
			heapPerWatch: { fresh: Math.round(heapFresh), steady: Math.round(heapSteady) },
			heapPerNaive: Math.round(heapPerNaive),
			snapshot: snapshot.liveness,
			closes,
			naiveWouldClose,
		};
	} finally {
		if (child.connected) child.send({ type: 'stop' } satisfies ParentMessage);
		await closeWorkerSlowly(worker);
	}
}

/**
 * Closes the worker and waits for its process to exit. With 10 000 transports on a WebRtcServer
 * the 3.12 worker can take minutes to tear them down; after 10 s it is SIGKILLed (it is ours).
 */
async function closeWorkerSlowly(worker: Worker): Promise<void> {
	const { pid } = worker;
	worker.close();
	const alive = (): boolean => {
		try {
			process.kill(pid, 0);
			return true;
		} catch {
			return false;
		}
	};
	const deadline = Date.now() + 10_000;
	while (alive() && Date.now() < deadline) await sleep(50);
	if (!alive()) return;
	process.kill(pid, 'SIGKILL');
	while (alive()) await sleep(50);
}

function meanOf(runs: readonly PhaseResult[]): PhaseResult {
	const mean = (pick: (r: PhaseResult) => number): number => round(runs.reduce((sum, r) => sum + pick(r), 0) / runs.length, 2);
	const first = runs[0];
	if (!first) throw new Error('no runs');
	return {
		name: first.name,
		seconds: round(
			runs.reduce((sum, r) => sum + r.seconds, 0),
			1,
		),
		nodeCpu: round(median(runs.map((r) => r.nodeCpu)), 2),
		workerCpu: mean((r) => r.workerCpu),
		eventLoopP99Ms: Math.max(...runs.map((r) => r.eventLoopP99Ms)),
		requestsPerSecond: mean((r) => r.requestsPerSecond),
		maxRequestsIn1s: Math.max(...runs.map((r) => r.maxRequestsIn1s)),
	};
}

function median(values: readonly number[]): number {
	const sorted = [...values].sort((a, b) => a - b);
	if (sorted.length === 0) return Number.NaN;
	const middle = Math.floor(sorted.length / 2);
	return sorted.length % 2 ? (sorted[middle] ?? 0) : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

function workerTicks(pid: number): number {
	// /proc/<pid>/stat: fields 14 and 15 (utime, stime) after the parenthesised command name.
	const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
	const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
	return Number(fields[11]) + Number(fields[12]);
}

function nextMessage<K extends ChildMessage['type']>(
	child: ChildProcess,
	type: K,
	onOther?: (message: ChildMessage) => void,
): Promise<Extract<ChildMessage, { type: K }>> {
	return new Promise((resolve, reject) => {
		const onMessage = (message: ChildMessage): void => {
			if (message.type === type) {
				cleanup();
				resolve(message as Extract<ChildMessage, { type: K }>);
			} else onOther?.(message);
		};
		const onExit = (code: number | null): void => {
			cleanup();
			reject(new Error(`stun-clients exited with ${code} before '${type}'`));
		};
		const cleanup = (): void => {
			child.off('message', onMessage);
			child.off('exit', onExit);
		};
		child.on('message', onMessage);
		child.on('exit', onExit);
	});
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const seconds = (since: number): number => round((performance.now() - since) / 1000, 1);
const round = (value: number, digits: number): number => Math.round(value * 10 ** digits) / 10 ** digits;
