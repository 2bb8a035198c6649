// `npm run bench`: measures stats-based liveness and writes docs/benchmarks.md.
//   1. detection latency of a vanished Chromium (default policy, ≥ 10 trials)
//   2. cost at 1 000 and 10 000 watched transports on one worker via a WebRtcServer, side by side
//      with bare getStats() at the same rate and with the naive setInterval-per-transport pattern
//   3. the scheduler's own CPU per poll and heap per watch, isolated from the worker
// Options (env): BENCH_TRIALS (10), BENCH_SIZES ("1000,10000"), BENCH_WINDOW_S (10).
import './env.js';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import * as mediasoup from 'mediasoup';
import { DEFAULT_POLICY } from '../src/index.js';
import { type CostResult, measureCost, type PhaseResult } from './cost.js';
import { type DetectionTrial, measureDetection } from './detection.js';
import { type LogicResult, measureLogic } from './logic.js';

const TRIALS = Number(process.env.BENCH_TRIALS ?? 10);
const SIZES = (process.env.BENCH_SIZES ?? '1000,10000').split(',').map(Number);
const WINDOW_S = Number(process.env.BENCH_WINDOW_S ?? 10);
const OUTPUT = fileURLToPath(new URL('../docs/benchmarks.md', import.meta.url));

const log = (line: string): void => {
	process.stdout.write(`${line}\n`);
};

async function main(): Promise<void> {
	const started = performance.now();
	const machine = describeMachine();
	log(`mediasoup-watchdog benchmark — ${machine.cpu}, load ${machine.loadBefore}`);

	log(`\n1. detection latency, ${TRIALS} trials`);
	const detection = await measureDetection(TRIALS, 2, log);

	const costs: CostResult[] = [];
	for (const size of SIZES) {
		log(`\n2. cost at ${size} transports`);
		costs.push(await measureCost(size, { cycles: 3, warmupSeconds: 3, windowSeconds: WINDOW_S, log }));
	}

	log('\n3. scheduler logic, isolated');
	const logic = await measureLogic(10_000, DEFAULT_POLICY.liveness.maxStatsRequestsPerSecond * 10, 3_000);
	log(`  ${JSON.stringify(logic)}`);

	const minutes = (performance.now() - started) / 60_000;
	const report = render({ machine: { ...machine, loadAfter: loadAverage() }, detection, costs, logic, minutes });
	writeFileSync(OUTPUT, report);
	log(`\nwrote ${OUTPUT} (${minutes.toFixed(1)} min)`);
	process.exit(0);
}

/* ------------------------------------------------------------------ machine */

interface Machine {
	readonly date: string;
	readonly cpu: string;
	readonly memory: string;
	readonly os: string;
	readonly node: string;
	readonly mediasoup: string;
	readonly chromium: string;
	readonly loadBefore: string;
	readonly loadAfter?: string;
}

function describeMachine(): Machine {
	const cpus = os.cpus();
	let chromium = 'unknown';
	try {
		chromium = execFileSync('/usr/bin/chromium', ['--version'], {
			encoding: 'utf8',
			timeout: 10_000,
			stdio: ['ignore', 'pipe', 'ignore'],
		}).trim();
	} catch {}
	return {
		date: new Date().toISOString().slice(0, 16).replace('T', ' '),
		cpu: `${cpus[0]?.model ?? 'unknown'} × ${cpus.length}`,
		memory: `${Math.round(os.totalmem() / 2 ** 30)} GiB`,
		os: `${os.type()} ${os.release()}`,
		node: process.version,
		mediasoup: `${mediasoup.version} (worker built from source by scripts/ensure-worker.mjs)`,
		chromium,
		loadBefore: loadAverage(),
	};
}

function loadAverage(): string {
	return os
		.loadavg()
		.map((l) => l.toFixed(2))
		.join(' / ');
}

/* ------------------------------------------------------------------ report */

function quantile(sorted: readonly number[], q: number): number {
	if (sorted.length === 0) return Number.NaN;
	const position = (sorted.length - 1) * q;
	const low = Math.floor(position);
	const high = Math.ceil(position);
	return (sorted[low] ?? 0) + ((sorted[high] ?? 0) - (sorted[low] ?? 0)) * (position - low);
}

const s = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
const pct = (value: number): string => `${value.toFixed(2)} %`;
/** A CPU difference from idle; a negative one is the machine's noise, and said so. */
const overIdle = (delta: number): string => (delta >= 0 ? `${pct(delta)} above idle` : `within noise of idle (${pct(delta)})`);
const kb = (bytes: number): string => `${(bytes / 1024).toFixed(2)} KB`;

function render(input: {
	machine: Machine;
	detection: DetectionTrial[];
	costs: CostResult[];
	logic: LogicResult;
	minutes: number;
}): string {
	const { machine, detection, costs, logic } = input;
	const T = DEFAULT_POLICY.inactivityTimeoutMs;
	const P = DEFAULT_POLICY.liveness.pollIntervalMs;
	const budget = DEFAULT_POLICY.liveness.maxStatsRequestsPerSecond;
	const latencies = detection.flatMap((t) => t.latenciesMs).sort((a, b) => a - b);
	const perClient = detection.map((t) => Math.max(...t.latenciesMs)).sort((a, b) => a - b);
	const allInactive = detection.every((t) => t.reasons.every((r) => r === 'inactive'));
	const median = quantile(latencies, 0.5);
	const lines: string[] = [];
	const push = (...more: string[]): void => {
		lines.push(...more);
	};

	push(
		'# Benchmarks',
		'',
		'Generated by `npm run bench` (bench/run.ts); do not edit by hand. Numbers from one run on a',
		'shared machine: other engineers ran real workers and Chromium at the same time, so CPU figures',
		'carry noise of about ±1 % of a core (compare the columns of one run, not runs with each other).',
		'',
		'## Machine',
		'',
		'| | |',
		'|---|---|',
		`| date (UTC) | ${machine.date} |`,
		`| CPU | ${machine.cpu} |`,
		`| memory | ${machine.memory} |`,
		`| OS | ${machine.os} |`,
		`| Node | ${machine.node} |`,
		`| mediasoup | ${machine.mediasoup} |`,
		`| Chromium | ${machine.chromium} |`,
		`| load average (1/5/15 min) before / after | ${machine.loadBefore} — ${machine.loadAfter ?? '?'} |`,
		`| run time | ${input.minutes.toFixed(1)} min |`,
		'',
		'Default policy throughout: `inactivityTimeoutMs` ' +
			`${T} ms, \`liveness.pollIntervalMs\` ${P} ms, \`liveness.maxStatsRequestsPerSecond\` ${budget}.`,
		'',
		'## 1. Detection latency of a vanished Chromium',
		'',
		'**What.** Time from the moment a Chromium client vanishes without a word to the `inactive`',
		'close of each of its server transports, with no signaling session bound: liveness alone.',
		'',
		'**How.** Real Chromium (mediasoup-client, fake camera and microphone) sending and receiving',
		'audio and video through a real mediasoup 3.12 worker, both server transports watched by one',
		'watchdog with the default policy. After 4–6 s of media (a random phase against the poll',
		'schedule), the page is closed (`page.close()`) or every browser process SIGKILLed, alternately,',
		'on the transports’ own ports or on a WebRtcServer, alternately; two trials run at a time. The',
		'latency is measured from the call that makes the client vanish, so it includes the page or',
		'browser teardown.',
		'',
		`**Result.** ${latencies.length} transports in ${detection.length} trials, all closed with ` +
			`\`${allInactive ? 'inactive' : 'SEE TABLE'}\`: median **${s(median)}** ` +
			`(target ≤ 10 s; mediasoup ≥ 3.13.20 alone: 30 s; 3.12 alone: never), p90 ${s(quantile(latencies, 0.9))}, ` +
			`min ${s(latencies[0] ?? Number.NaN)}, max ${s(latencies.at(-1) ?? Number.NaN)}; ` +
			`whole client (its last transport) median ${s(quantile(perClient, 0.5))}. ` +
			`Bound: \`inactivityTimeoutMs\` + one poll period = ${s(T + P)} after the client's last packet.`,
		'',
		'| trial | how | where | send transport | recv transport | detectionMs (send / recv) |',
		'|---|---|---|---|---|---|',
		...detection.map(
			(t) => `| ${t.trial} | ${t.how} | ${t.where} | ${t.latenciesMs.map(s).join(' | ')} | ${t.detectionMs.join(' / ')} |`,
		),
		'',
		'## 2. Cost at 1 000 and 10 000 watched transports',
		'',
		'**What.** The price of liveness on one worker: Node heap per watch, Node CPU, event-loop',
		'delay, worker CPU, worker requests per second, and the detection bound that results, side by',
		'side with the pattern apps write by hand.',
		'',
		'**How.** One mediasoup 3.12 worker, one WebRtcServer (UDP, 127.0.0.1), N WebRtcTransports on',
		'it. A child process (bench/stun-clients.ts) plays N minimal clients, one UDP socket each on its',
		'own 127.x.y.z address: a STUN Binding request brings each transport to ICE `completed`, a real',
		'DTLS handshake (werift’s DTLS client) to `dtlsState: connected`, then the client only sends an',
		'ICE consent check every 2.5 s, like an idle Chromium. No media, no SCTP: on a WebRtcServer such',
		'a transport’s `bytesReceived` never moves, and the watchdog judges it on the worker’s consent',
		'replies. The clients run in their own process so their CPU is not counted. Then, on the same',
		'transports and in this order:',
		'',
		'- **idle**: nothing polls; the baseline (consent checks, the worker’s replies).',
		'- **watchdog**: `createWatchdog()` with the default policy (per-user limits off) watching all N.',
		'- **bare**: a loop calling `getStats()` round-robin at the watchdog’s request rate, no logic: what',
		'  the calls cost by themselves.',
		'- watchdog and bare alternate three times (a fresh watchdog each time), so that load from',
		'  elsewhere on the machine hits both alike; the table shows the median Node CPU and the mean of',
		'  the rest over the three runs, and the highest per-second request rate of any run.',
		`- **naive**: \`setInterval(() => transport.getStats()…, ${P})\` per transport, started at a random`,
		`  phase, with the same ${T} ms inactivity check: what apps write by hand.`,
		'',
		`Each phase: 3 s warm-up, then ${WINDOW_S} s measured. Node CPU: the median of one-second samples`,
		'of `process.cpuUsage()`; worker CPU: `/proc/<pid>/stat` (utime + stime) over the window; both',
		'in % of one core. Event-loop delay p99',
		'from `monitorEventLoopDelay({ resolution: 1 })` (so ~1 ms is the floor); requests counted by',
		'wrapping each transport’s `getStats()`/`dump()`. Heap per watch: `heapUsed` after `gc()`,',
		'before and after watching (fresh) and after the first measured window (steady), divided by N.',
		'',
	);
	for (const cost of costs) {
		const { idle, watchdog, bare, naive } = cost.phases;
		const row = (label: string, pick: (p: PhaseResult) => string): string =>
			`| ${label} | ${pick(idle)} | ${pick(watchdog)} | ${pick(bare)} | ${pick(naive)} |`;
		const naivePeriod = (cost.transports / Math.max(naive.requestsPerSecond, 1e-9)) * 1000;
		push(
			`### ${cost.transports.toLocaleString('en-US')} transports`,
			'',
			`${cost.connected} of ${cost.transports} transports reached DTLS \`connected\` (setup ${cost.setupSeconds} s).`,
			'',
			'| | idle | watchdog | bare getStats | naive |',
			'|---|---|---|---|---|',
			row('worker requests/s (mean)', (p) => p.requestsPerSecond.toFixed(1)),
			row('most worker requests in any 1 000 ms (sliding)', (p) => String(p.maxRequestsIn1s)),
			row('Node CPU', (p) => pct(p.nodeCpu)),
			row('worker CPU', (p) => pct(p.workerCpu)),
			row('event-loop delay p99', (p) => `${p.eventLoopP99Ms} ms`),
			`| Node heap per watch | — | ${kb(cost.heapPerWatch.fresh)} fresh, ${kb(cost.heapPerWatch.steady)} steady | — | ${kb(cost.heapPerNaive)} (timer + closure + state) |`,
			`| poll period per transport | — | ${s(cost.snapshot.pollIntervalMs)} | — | ${s(naivePeriod)} (achieved) |`,
			`| detection bound | — | ${s(cost.snapshot.detectionBoundMs)} | — | ${s(T + naivePeriod)} (if the worker keeps up) |`,
			'',
			`Watchdog CPU on top of its getStats() calls (watchdog − bare): **${pct(watchdog.nodeCpu - bare.nodeCpu)}** of a core ` +
				`(runs: watchdog ${cost.runs.watchdog.map((r) => pct(r.nodeCpu)).join(', ')}; bare ${cost.runs.bare.map((r) => pct(r.nodeCpu)).join(', ')}). ` +
				`Worker load: ${watchdog.requestsPerSecond.toFixed(0)} requests/s, at most ${watchdog.maxRequestsIn1s} in any 1 000 ms ` +
				`(budget ${budget}); worker CPU ${overIdle(watchdog.workerCpu - idle.workerCpu)} ` +
				`(naive: ${pct(naive.workerCpu - idle.workerCpu)}). Snapshot: ${JSON.stringify(cost.snapshot)}; ` +
				`closes during the watchdog runs: ${JSON.stringify(cost.closes)}. The naive check would have closed ` +
				`${cost.naiveWouldClose} of these live transports within its window: on a WebRtcServer, consent checks are ` +
				'not counted in `bytesReceived`.',
			'',
		);
	}
	push(
		'## 3. The scheduler’s own cost, isolated',
		'',
		`**What/how.** The same watchdog over ${logic.transports.toLocaleString('en-US')} fake transports`,
		'(test/helpers/fake-transport.ts) whose `getStats()` answers at once, at',
		`${logic.requestsPerSecond} requests/s, against a bare loop making the same calls at the same rate,`,
		'alternated three times (median shown); no worker, so the difference is the watchdog’s logic',
		'alone. Heap per connected watch on fresh fake transports, with liveness off',
		'(`inactivityTimeoutMs: Infinity`) and on, shows what liveness adds to a watch.',
		'',
		'| | watchdog | bare |',
		'|---|---|---|',
		`| Node CPU per getStats() call (median) | ${logic.watchdogUsPerCall} µs | ${logic.bareUsPerCall} µs |`,
		`| runs | ${logic.runs.watchdog.join(', ')} µs | ${logic.runs.bare.join(', ')} µs |`,
		'',
		`Heap per connected watch: ${logic.heapPerWatch.livenessOff} B with liveness off, ${logic.heapPerWatch.livenessOn} B on: ` +
			`liveness adds ${logic.heapPerWatch.livenessOn - logic.heapPerWatch.livenessOff} B per watch; the rest is the watch itself ` +
			'(its listeners on the transport, its timers, its `closed` promise).',
		`At the default budget (${budget}/s) the logic costs about ` +
			`${pct((Math.max(0, logic.watchdogUsPerCall - logic.bareUsPerCall) * budget) / 10_000)} of a core.`,
		'',
	);
	return `${lines.join('\n')}\n`;
}

main().catch((error: unknown) => {
	process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
	process.exit(1);
});
