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
import { benchFaults } from './faults.js';
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
	/** Worker requests that rejected in the window (a busy or closing worker; BENCH_FAULTS=stats-reject). */
	readonly rejected: number;
}

export interface CostResult {
	/** Transports asked for. */
	readonly transports: number;
	/** Transports that reached ICE connected/completed and DTLS connected: the only ones measured. */
	readonly connected: number;
	/**
	 * Transports that did not connect, by what stopped them (`ice new, dtls new`, `not created`,
	 * `connect() rejected`, …): closed at once and left out of every phase.
	 */
	readonly notConnected: Readonly<Record<string, number>>;
	/** Transports watched by each watchdog run (those still open when it began). */
	readonly watched: readonly number[];
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
	const faults = benchFaults();
	const setupStarted = performance.now();
	const worker = await createTestWorker({ logLevel: 'error' });
	const child = fork(CHILD_ENTRY, [], { execArgv: ['--import', TSX_LOADER], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
	// The clients must live through every phase: once they stop, the transports go silent and
	// whatever follows measures nothing. Checked after each phase.
	let childExit: string | undefined;
	child.once('exit', (code, signal) => {
		childExit = `code ${code}, signal ${signal}`;
	});
	try {
		const router = await createTestRouter(worker);
		const server = await worker.createWebRtcServer({ listenInfos: [{ protocol: 'udp', ip: '127.0.0.1' }] });
		const fingerprint = await nextMessage(child, 'fingerprint', 60_000);

		// Whatever does not connect is counted here, closed, and left out of every phase.
		const notConnected: Record<string, number> = {};
		const skip = (why: string, transport?: types.WebRtcTransport, error?: unknown): void => {
			if (notConnected[why] === undefined && error !== undefined) log(`  ${why}: ${String(error)}`);
			notConnected[why] = (notConnected[why] ?? 0) + 1;
			transport?.close();
		};
		const created: types.WebRtcTransport[] = [];
		for (let i = 0; i < count; i += 250) {
			const batch = Array.from({ length: Math.min(250, count - i) }, () =>
				router.createWebRtcTransport({ webRtcServer: server, enableUdp: true, enableTcp: false }),
			);
			for (const outcome of await Promise.allSettled(batch)) {
				if (outcome.status === 'fulfilled') created.push(outcome.value);
				else skip('not created', undefined, outcome.reason);
			}
		}
		const dtlsParameters: types.DtlsParameters = {
			role: 'client',
			fingerprints: [{ algorithm: 'sha-256', value: fingerprint.value }],
		};
		const reachable: Array<{ transport: types.WebRtcTransport; target: StunTarget }> = [];
		for (let i = 0; i < created.length; i += 250) {
			const batch = created.slice(i, i + 250);
			const outcomes = await Promise.allSettled(batch.map((t) => t.connect({ dtlsParameters })));
			for (const [k, outcome] of outcomes.entries()) {
				const transport = batch[k] as types.WebRtcTransport;
				const candidate = transport.iceCandidates[0];
				if (outcome.status === 'rejected') skip('connect() rejected', transport, outcome.reason);
				else if (!candidate) skip('no ICE candidate', transport);
				else {
					const { usernameFragment: ufrag, password } = transport.iceParameters;
					reachable.push({ transport, target: { ufrag, password, ip: candidate.ip, port: candidate.port } });
				}
			}
		}
		log(`  ${created.length} transports created in ${seconds(setupStarted)} s; connecting ICE + DTLS…`);
		// A hang guard only: 10 000 clients took 297 s on a loaded 2-core machine.
		const connectedMessage = nextMessage(child, 'connected', Math.max(300_000, count * 100), (m) => {
			if (m.type === 'progress') log(`  … ${m.done} clients done`);
		});
		child.send({ type: 'connect', targets: reachable.map((r) => r.target) } satisfies ParentMessage);
		const done = await connectedMessage;
		await sleep(500);
		const transports: types.WebRtcTransport[] = [];
		for (const { transport } of reachable) {
			const { iceState, dtlsState } = transport;
			if (dtlsState === 'connected' && (iceState === 'connected' || iceState === 'completed')) transports.push(transport);
			else skip(`ice ${iceState}, dtls ${dtlsState}`, transport);
		}
		const connected = transports.length;
		const skipped = count - connected;
		log(
			`  ICE+DTLS: ${done.ok} clients ok, ${done.failed} failed; ${connected} of ${count} transports connected` +
				`${skipped ? `, ${skipped} did not and are left out of every phase ${JSON.stringify(notConnected)}` : ''} (${seconds(setupStarted)} s)`,
		);
		if (connected === 0) throw new Error(`none of the ${count} transports connected: ${JSON.stringify(notConnected)}`);

		// Record when each worker request the phases make was sent, the same way for all of them,
		// and count those that reject.
		let sentAt: number[] = [];
		let rejected = 0;
		const counted = <T>(request: Promise<T>): Promise<T> =>
			request.catch((error: unknown) => {
				rejected += 1;
				throw error;
			});
		for (const transport of transports) {
			const getStats = transport.getStats.bind(transport);
			const dump = transport.dump.bind(transport);
			transport.getStats = () => {
				sentAt.push(performance.now());
				if (faults.statsReject > 0 && Math.random() < faults.statsReject) {
					return counted(Promise.reject(new Error('getStats() rejected (BENCH_FAULTS=stats-reject)')));
				}
				return counted(getStats());
			};
			transport.dump = () => {
				sentAt.push(performance.now());
				return counted(dump());
			};
		}
		/** The measured transports still open (a watchdog run may have closed some). */
		const open = (): types.WebRtcTransport[] => transports.filter((t) => !t.closed);
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
			rejected = 0;
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
				rejected,
			};
			log(`  ${name}: ${JSON.stringify(result)}`);
			if (childExit) throw new Error(`stun-clients exited (${childExit}) during the ${name} phase: the clients went silent`);
			return result;
		};

		const idle = await phase('idle');

		// The watchdog, default policy (per-user limits off: these transports have no user).
		let heapFresh = 0;
		let heapSteady = 0;
		let snapshot: WatchdogSnapshot | undefined;
		const closes: Record<string, number> = {};
		const watched: number[] = [];
		const watchdogPhase = async (): Promise<PhaseResult> => {
			// A transport an earlier run closed (its client went quiet) cannot be watched again.
			const watching = open();
			if (watching.length === 0) throw new Error('every transport was closed by an earlier watchdog run');
			watched.push(watching.length);
			gc();
			const heap0 = process.memoryUsage().heapUsed;
			const watchdog = createWatchdog({ iceRestart: { perUser: false }, maxPendingPerUser: Number.POSITIVE_INFINITY });
			for (const transport of watching) watchdog.watch(transport, { worker });
			// BENCH_FAULTS=close:N: N transports close halfway through the first run.
			const closer =
				watched.length === 1 && faults.close > 0
					? setTimeout(
							() => {
								for (const transport of watching.slice(-faults.close)) transport.close();
							},
							(options.warmupSeconds + options.windowSeconds / 2) * 1000,
						)
					: undefined;
			gc();
			heapFresh ||= (process.memoryUsage().heapUsed - heap0) / watching.length;
			try {
				const result = await phase('watchdog');
				gc();
				heapSteady ||= (process.memoryUsage().heapUsed - heap0) / watching.length;
				snapshot = watchdog.snapshot();
				for (const [reason, n] of Object.entries(snapshot.closes)) closes[reason] = (closes[reason] ?? 0) + (n ?? 0);
				return result;
			} finally {
				clearTimeout(closer);
				watchdog.stop();
			}
		};

		// Bare getStats at the watchdog's rate, round-robin, no logic.
		const barePhase = async (rate: number): Promise<PhaseResult> => {
			const polled = open();
			let cursor = 0;
			let credit = 0;
			const bare = setInterval(() => {
				credit += rate / 50;
				while (credit >= 1) {
					credit -= 1;
					const transport = polled[cursor++ % polled.length] as types.WebRtcTransport;
					transport.getStats().then(
						(stats) => stats[0]?.bytesReceived,
						() => undefined,
					);
				}
			}, 20);
			try {
				return await phase('bare');
			} finally {
				clearInterval(bare);
			}
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
		const naiveTransports = open();
		for (const transport of naiveTransports) {
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
		const heapPerNaive = (process.memoryUsage().heapUsed - heapNaive0) / naiveTransports.length;
		let naivePhase: PhaseResult;
		try {
			naivePhase = await phase('naive');
		} finally {
			for (const timer of timers) clearTimeout(timer);
		}

		return {
			transports: count,
			connected,
			notConnected,
			watched,
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
		rejected: runs.reduce((sum, r) => sum + r.rejected, 0),
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

/** The child's next message of `type`; rejects if it exits first or stays silent for `timeoutMs`. */
function nextMessage<K extends ChildMessage['type']>(
	child: ChildProcess,
	type: K,
	timeoutMs: number,
	onOther?: (message: ChildMessage) => void,
): Promise<Extract<ChildMessage, { type: K }>> {
	return new Promise((resolve, reject) => {
		if (child.exitCode !== null || child.signalCode !== null) {
			reject(new Error(`stun-clients exited with ${child.exitCode ?? child.signalCode} before '${type}'`));
			return;
		}
		const timer = setTimeout(() => {
			cleanup();
			reject(new Error(`stun-clients sent no '${type}' within ${timeoutMs} ms`));
		}, timeoutMs);
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
			clearTimeout(timer);
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
