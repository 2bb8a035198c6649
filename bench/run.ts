// `npm run bench`: measures stats-based liveness and writes docs/benchmarks.md.
//   1. detection latency of a vanished Chromium (default policy, ≥ 10 trials)
//   2. cost at 1 000 and 10 000 watched transports on one worker via a WebRtcServer, side by side
//      with bare getStats() at the same rate and with the naive setInterval-per-transport pattern
//   3. the scheduler's own CPU per poll and heap per watch, isolated from the worker
//
// Whatever fails is reported and skipped, and the run goes on: a transport that does not connect
// is left out of every phase (and counted), a detection trial whose Chromium does not start is
// skipped (and listed), a size whose clients do not start is reported as not measured. The run
// exits 1 when a whole section or size could not be measured, 0 otherwise.
//
// Options (env):
//   BENCH_TRIALS (10), BENCH_SIZES ("1000,10000"), BENCH_WINDOW_S (10)
//   BENCH_QUICK=1     a check that everything runs, in about two minutes: 2 trials, 200 transports,
//                     2 s windows, a smaller logic run; writes to BENCH_OUTPUT, never to docs/
//   BENCH_OUTPUT      where the report goes (default docs/benchmarks.md; with BENCH_QUICK or
//                     BENCH_FAULTS, a file in the OS temp folder, so no quick figures reach docs/)
//   BENCH_FAULTS      faults to inject, to check the paths above (see bench/faults.ts)
//   BENCH_SECTIONS    which parts to run, comma-separated: `core` (1–3 above) and the names in
//                     bench/sections/index.ts (default: all). A part that is not run keeps its
//                     figures in the report (bench/sections/report.ts).
import './env.js';
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as mediasoup from 'mediasoup';
import { DEFAULT_POLICY } from '../src/index.js';
import { type CostResult, measureCost, type PhaseResult } from './cost.js';
import { type DetectionResult, type DetectionTrial, measureDetection } from './detection.js';
import { anyFault, benchFaults } from './faults.js';
import { type LogicResult, measureLogic } from './logic.js';
import { SECTIONS } from './sections/index.js';
import { readCore, readSections, writeReport } from './sections/report.js';

const QUICK = process.env.BENCH_QUICK === '1';
const FAULTS_SPEC = process.env.BENCH_FAULTS ?? '';
const FAULTS = benchFaults(FAULTS_SPEC);
const TRIALS = Number(process.env.BENCH_TRIALS ?? (QUICK ? 2 : 10));
const SIZES = (process.env.BENCH_SIZES ?? (QUICK ? '200' : '1000,10000')).split(',').map(Number);
const WINDOW_S = Number(process.env.BENCH_WINDOW_S ?? (QUICK ? 2 : 10));
const WARMUP_S = QUICK ? 1 : 3;
const LOGIC = QUICK ? { transports: 1_000, windowMs: 1_000 } : { transports: 10_000, windowMs: 3_000 };
const SELECTED = process.env.BENCH_SECTIONS?.split(',').filter(Boolean);
const selected = (name: string): boolean => !SELECTED || SELECTED.includes(name);
const OUTPUT =
	process.env.BENCH_OUTPUT ??
	(QUICK || anyFault(FAULTS)
		? join(os.tmpdir(), 'mediasoup-watchdog-benchmarks.md')
		: fileURLToPath(new URL('../docs/benchmarks.md', import.meta.url)));

const log = (line: string): void => {
	process.stdout.write(`${line}\n`);
};

/** A section's result, or why it has none. */
type Measured<T> = { readonly value: T } | { readonly error: string };

async function measured<T>(what: string, run: () => Promise<T>): Promise<Measured<T>> {
	try {
		return { value: await run() };
	} catch (error) {
		log(`  ${what}: NOT MEASURED, skipped: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
		return { error: error instanceof Error ? error.message : String(error) };
	}
}

async function main(): Promise<void> {
	const started = performance.now();
	const machine = describeMachine();
	log(`mediasoup-watchdog benchmark — ${machine.cpu}, load ${machine.loadBefore}`);
	if (QUICK || FAULTS_SPEC)
		log(`(${[QUICK ? 'BENCH_QUICK=1' : '', FAULTS_SPEC ? `BENCH_FAULTS=${FAULTS_SPEC}` : ''].filter(Boolean).join(', ')})`);

	const unmeasured: string[] = [];
	const skipped: string[] = [];
	let core = readCore(OUTPUT);
	if (selected('core')) {
		const result = await measureCoreReport(machine, started);
		core = result.report;
		unmeasured.push(...result.unmeasured);
		skipped.push(...result.skipped);
	}
	const sections = readSections(OUTPUT);
	for (const section of SECTIONS) {
		if (!selected(section.name)) continue;
		log(`\n${section.name}: ${section.title}`);
		const markdown = await measured(section.name, () => section.run({ quick: QUICK, log }));
		if ('value' in markdown) sections.set(section.name, markdown.value);
		else unmeasured.push(section.name);
	}
	writeReport(
		OUTPUT,
		core,
		sections,
		SECTIONS.map((section) => section.name),
	);
	const minutes = (performance.now() - started) / 60_000;
	log(`\nwrote ${OUTPUT} (${minutes.toFixed(1)} min)`);
	if (skipped.length) log(`skipped (failed to start or connect): ${skipped.join(', ')}`);
	if (unmeasured.length) log(`NOT MEASURED: ${unmeasured.join(', ')}`);
	process.exit(unmeasured.length ? 1 : 0);
}

/** Sections 1–3: the core report (everything before the marked blocks of docs/benchmarks.md). */
async function measureCoreReport(
	machine: Machine,
	started: number,
): Promise<{ readonly report: string; readonly unmeasured: string[]; readonly skipped: string[] }> {
	log(`\n1. detection latency, ${TRIALS} trials`);
	const detection = await measured('detection', () => measureDetection(TRIALS, 2, log));
	if ('value' in detection) {
		log(`  ${detection.value.trials.length} of ${TRIALS} trials measured, ${detection.value.failed.length} failed and skipped`);
	}

	const costs: Array<{ readonly size: number; readonly cost: Measured<CostResult> }> = [];
	for (const size of SIZES) {
		log(`\n2. cost at ${size} transports`);
		const cost = await measured(`cost at ${size} transports`, () =>
			measureCost(size, { cycles: 3, warmupSeconds: WARMUP_S, windowSeconds: WINDOW_S, log }),
		);
		costs.push({ size, cost });
	}

	log('\n3. scheduler logic, isolated');
	const logic = await measured('scheduler logic', () =>
		measureLogic(LOGIC.transports, DEFAULT_POLICY.liveness.maxStatsRequestsPerSecond * 10, LOGIC.windowMs),
	);
	if ('value' in logic) log(`  ${JSON.stringify(logic.value)}`);

	const minutes = (performance.now() - started) / 60_000;
	const report = render({ machine: { ...machine, loadAfter: loadAverage() }, detection, costs, logic, minutes });
	const unmeasured = [
		'error' in detection || detection.value.trials.length === 0 ? 'detection' : '',
		...costs.map(({ size, cost }) => ('error' in cost ? `cost at ${size}` : '')),
		'error' in logic ? 'scheduler logic' : '',
	].filter(Boolean);
	const skipped = [
		'value' in detection && detection.value.failed.length ? `${detection.value.failed.length} detection trials` : '',
		...costs.map(({ size, cost }) =>
			'value' in cost && cost.value.connected < size ? `${size - cost.value.connected} of ${size} transports` : '',
		),
	].filter(Boolean);
	return { report, unmeasured, skipped };
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

/** `n thing`, or `n things`. */
const plural = (n: number, thing: string): string => `${n.toLocaleString('en-US')} ${thing}${n === 1 ? '' : 's'}`;

function render(input: {
	machine: Machine;
	detection: Measured<DetectionResult>;
	costs: ReadonlyArray<{ readonly size: number; readonly cost: Measured<CostResult> }>;
	logic: Measured<LogicResult>;
	minutes: number;
}): string {
	const { machine, costs } = input;
	const T = DEFAULT_POLICY.inactivityTimeoutMs;
	const P = DEFAULT_POLICY.liveness.pollIntervalMs;
	const budget = DEFAULT_POLICY.liveness.maxStatsRequestsPerSecond;
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
		...(QUICK || FAULTS_SPEC
			? [
					`**Not a measurement:** a check run (${[QUICK ? '`BENCH_QUICK=1`' : '', FAULTS_SPEC ? `\`BENCH_FAULTS=${FAULTS_SPEC}\`` : ''].filter(Boolean).join(', ')}); ` +
						'the figures below say nothing about the library.',
					'',
				]
			: []),
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
		...renderDetection(input.detection, T + P),
		`## 2. Cost at ${costs.map(({ size }) => size.toLocaleString('en-US').replace(/,/g, ' ')).join(' and ')} watched transports`,
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
		'replies. The clients run in their own process so their CPU is not counted. A transport that does',
		'not reach ICE and DTLS `connected` is counted, closed and left out of every phase. Then, on the',
		'same transports and in this order:',
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
		`Each phase: ${WARMUP_S} s warm-up, then ${WINDOW_S} s measured. Node CPU: the median of one-second samples`,
		'of `process.cpuUsage()`; worker CPU: `/proc/<pid>/stat` (utime + stime) over the window; both',
		'in % of one core. Event-loop delay p99',
		'from `monitorEventLoopDelay({ resolution: 1 })` (so ~1 ms is the floor); requests counted by',
		'wrapping each transport’s `getStats()`/`dump()`. Heap per watch: `heapUsed` after `gc()`,',
		'before and after watching (fresh) and after the first measured window (steady), divided by N.',
		'',
	);
	for (const { size, cost: measuredCost } of costs) {
		if ('error' in measuredCost) {
			push(`### ${size.toLocaleString('en-US')} transports`, '', `**Not measured:** ${measuredCost.error}`, '');
			continue;
		}
		const cost = measuredCost.value;
		const { idle, watchdog, bare, naive } = cost.phases;
		const row = (label: string, pick: (p: PhaseResult) => string): string =>
			`| ${label} | ${pick(idle)} | ${pick(watchdog)} | ${pick(bare)} | ${pick(naive)} |`;
		const naivePeriod = (cost.connected / Math.max(naive.requestsPerSecond, 1e-9)) * 1000;
		const notConnected = cost.transports - cost.connected;
		// (watchdog and bare: the sum over their runs)
		const phases = [idle, watchdog, bare, naive];
		const rejected = phases.reduce((sum, phase) => sum + phase.rejected, 0);
		const watchedLess = cost.watched.some((n) => n < cost.connected);
		push(
			`### ${cost.transports.toLocaleString('en-US')} transports`,
			'',
			`${cost.connected} of ${cost.transports} transports reached ICE and DTLS \`connected\` (setup ${cost.setupSeconds} s)` +
				(notConnected
					? `; **${plural(notConnected, 'transport')} did not** (${Object.entries(cost.notConnected)
							.map(([why, n]) => `${n}: ${why}`)
							.join('; ')}), were closed and are left out of every phase and of every per-transport figure.`
					: '.') +
				(watchedLess
					? ` The watchdog runs watched ${cost.watched.join(', ')} of them (a transport an earlier run closed is not watched again).`
					: '') +
				(rejected
					? ` Worker requests that rejected: ${phases.map((phase) => `${phase.name} ${phase.rejected}`).join(', ')} (counted in the request rates).`
					: ''),
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
	push(...renderLogic(input.logic, budget));
	return `${lines.join('\n')}\n`;
}

function renderDetection(measured: Measured<DetectionResult>, boundMs: number): string[] {
	if ('error' in measured) return [`**Not measured:** ${measured.error}`, ''];
	const { trials: detection, failed } = measured.value;
	const latencies = detection.flatMap((t) => t.latenciesMs).sort((a, b) => a - b);
	const perClient = detection.map((t) => Math.max(...t.latenciesMs)).sort((a, b) => a - b);
	const allInactive = detection.every((t) => t.reasons.every((r) => r === 'inactive'));
	const median = quantile(latencies, 0.5);
	const skipped = failed.length
		? [
				`**${plural(failed.length, 'trial')} of ${detection.length + failed.length} failed and ${failed.length === 1 ? 'is' : 'are'} left out** ` +
					`(no measurement: ${failed.map((f) => `trial ${f.trial}, ${f.how}, ${f.where}: ${f.error}`).join('; ')}).`,
				'',
			]
		: [];
	if (detection.length === 0) return [...skipped, '**Not measured:** no trial gave a measurement.', ''];
	/** A latency, with the close reason when it is not `inactive`. */
	const cell = (t: DetectionTrial, i: number): string => {
		const reason = t.reasons[i];
		return `${s(t.latenciesMs[i] ?? Number.NaN)}${reason === 'inactive' ? '' : ` (${reason})`}`;
	};
	return [
		`**Result.** ${latencies.length} transports in ${detection.length} trials, ` +
			`${allInactive ? 'all closed with `inactive`' : 'not all closed with `inactive` (reasons in the table)'}: median **${s(median)}** ` +
			`(target ≤ 10 s; mediasoup ≥ 3.13.20 alone: 30 s; 3.12 alone: never), p90 ${s(quantile(latencies, 0.9))}, ` +
			`min ${s(latencies[0] ?? Number.NaN)}, max ${s(latencies.at(-1) ?? Number.NaN)}; ` +
			`whole client (its last transport) median ${s(quantile(perClient, 0.5))}. ` +
			`Bound: \`inactivityTimeoutMs\` + one poll period = ${s(boundMs)} after the client's last packet.`,
		'',
		...skipped,
		'| trial | how | where | send transport | recv transport | detectionMs (send / recv) |',
		'|---|---|---|---|---|---|',
		...detection.map(
			(t) =>
				`| ${t.trial} | ${t.how} | ${t.where} | ${t.latenciesMs.map((_, i) => cell(t, i)).join(' | ')} | ${t.detectionMs.join(' / ')} |`,
		),
		'',
	];
}

function renderLogic(measured: Measured<LogicResult>, budget: number): string[] {
	const heading = ['## 3. The scheduler’s own cost, isolated', ''];
	if ('error' in measured) return [...heading, `**Not measured:** ${measured.error}`, ''];
	const logic = measured.value;
	return [
		...heading,
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
	];
}

main().catch((error: unknown) => {
	process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
	process.exit(1);
});
