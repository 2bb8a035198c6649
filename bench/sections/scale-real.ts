// The scale-real section of `npm run bench` (issue 17): liveness at scale with real mediasoup
// 3.27.1 workers and real client traffic, side by side: the naive setInterval(getStats, 2000), the
// old shared round-robin and the landed per-worker budget with hints (and, at 5 000 over 4 workers,
// the same with a raised budget). Each scenario (10 000
// transports over 4 workers, 1 000 on 1) runs in a child process of its own on the pinned Node 22
// (bench/scale-real/run.ts), whose lean clients run in child processes of their own
// (bench/scale-real/clients.ts); this section aggregates and renders (bench/scale-real/results.ts).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
// @ts-expect-error plain ESM helper shared with scripts/ (no types)
import { node22Path, workerBinaryPath } from '../../scripts/worker-path.mjs';
import { RAISED_BUDGET, type ScaleRealConfig } from '../scale-real/config.js';
import { CLIENT_TIMING, RESULT_PREFIX } from '../scale-real/protocol.js';
import { aggregate, renderScenario, type ScenarioRun } from '../scale-real/results.js';
import { runChildForResult } from './child-result.js';
import type { BenchSection } from './index.js';

const RUN = fileURLToPath(new URL('../scale-real/run.ts', import.meta.url));
const HOOKS = fileURLToPath(new URL('../../test/helpers/mediasoup-latest-hooks.mjs', import.meta.url));
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

const MODES = ['naive', 'shared', 'per-worker'] as const;
/** The share of consent checks the clients of the lossy scenarios lose. */
const LOSSY_LINK = 0.02;
/** The large scenario also runs the landed code with the budget an app would raise it to (config.ts). */
const MODES_LARGE = [...MODES, 'per-worker-raised'] as const;
const FULL: readonly ScaleRealConfig[] = [
	{
		// 10 000 cannot run on this 2-core machine with real clients: at 4 661 connected, the idle
		// workers alone took ~20 % of a core each and the clients ~47 % (run of 2026-12-05 08:18).
		transports: 5_000,
		workers: 4,
		vanishUsersPerMode: 150,
		clientProcesses: 2,
		modes: MODES_LARGE,
		baselineMs: 15_000,
		warmMs: 45_000,
		cpuWindowMs: 20_000,
		vanishSpreadMs: 10_000,
		waitMs: 100_000,
	},
	{
		transports: 1_000,
		workers: 1,
		vanishUsersPerMode: 60,
		clientProcesses: 2,
		modes: MODES,
		baselineMs: 10_000,
		warmMs: 40_000,
		cpuWindowMs: 20_000,
		vanishSpreadMs: 10_000,
		waitMs: 60_000,
	},
	// A lossy link (2 % of consent checks lost): what the worker's own consent check at 12 s costs
	// in live clients dropped, and what the judge does with the same loss at mediasoup's default.
	...[12, 30].map(
		(iceConsentTimeout): ScaleRealConfig => ({
			transports: 2_000,
			workers: 2,
			vanishUsersPerMode: 100,
			clientProcesses: 2,
			modes: ['per-worker'],
			baselineMs: 10_000,
			warmMs: 120_000,
			cpuWindowMs: 20_000,
			vanishSpreadMs: 10_000,
			waitMs: 60_000,
			iceConsentTimeout,
			consentLoss: LOSSY_LINK,
		}),
	),
];
/** Development size (BENCH_QUICK=1). */
const QUICK: readonly ScaleRealConfig[] = [
	{
		transports: Number(process.env.SCALE_REAL_TRANSPORTS ?? 200),
		workers: 2,
		vanishUsersPerMode: 20,
		clientProcesses: 2,
		modes: MODES,
		baselineMs: 5_000,
		warmMs: 35_000,
		cpuWindowMs: 10_000,
		vanishSpreadMs: 5_000,
		waitMs: 45_000,
	},
];

function runScenario(config: ScaleRealConfig, log: (line: string) => void): Promise<ScenarioRun> {
	const shared = (2 * config.transports) / 200;
	const limitMs =
		900_000 +
		config.baselineMs +
		config.modes.length * (config.warmMs + config.vanishSpreadMs + config.waitMs + 5_000) +
		shared * 1000;
	return runChildForResult<ScenarioRun>({
		command: node22Path() as string,
		args: ['--expose-gc', '--import', TSX, '--import', HOOKS, RUN],
		env: {
			MEDIASOUP_WORKER_BIN: workerBinaryPath('mediasoup-latest') as string,
			SCALE_REAL_CONFIG: JSON.stringify(config),
		},
		resultPrefix: RESULT_PREFIX,
		limitMs,
		name: `the ${config.transports} / ${config.workers} run`,
		log,
	});
}

const loadAverage = (): string =>
	os
		.loadavg()
		.map((l) => l.toFixed(2))
		.join(' / ');

async function run(options: { readonly quick: boolean; readonly log: (line: string) => void }): Promise<string> {
	const scenarios = options.quick ? QUICK : FULL;
	const started = performance.now();
	const loadBefore = loadAverage();
	const date = new Date().toISOString().slice(0, 16).replace('T', ' ');
	const rendered: string[] = [];
	const unmeasured: string[] = [];
	for (const config of scenarios) {
		options.log(`  ${config.transports} transports / ${config.workers} worker(s)`);
		try {
			const result = await runScenario(config, options.log);
			rendered.push(renderScenario(result, aggregate(result)));
		} catch (error) {
			const text = error instanceof Error ? error.message : String(error);
			options.log(`  NOT MEASURED: ${text}`);
			unmeasured.push(text);
		}
	}
	if (rendered.length === 0) throw new Error(`no scenario measured: ${unmeasured.join('; ')}`);
	const werift = JSON.parse(
		readFileSync(fileURLToPath(new URL('../../node_modules/werift/package.json', import.meta.url)), 'utf8'),
	) as { version: string };
	const cpus = os.cpus();
	const first = scenarios[0] as ScaleRealConfig;
	return [
		'## Liveness at scale with real workers and real clients',
		'',
		`\`${options.quick ? 'BENCH_QUICK=1 ' : ''}BENCH_SECTIONS=scale-real npm run bench\` (bench/sections/scale-real.ts, bench/scale-real/), ${date} UTC, ${((performance.now() - started) / 60_000).toFixed(1)} min.`,
		'',
		`- Machine: ${cpus[0]?.model ?? 'unknown'} × ${cpus.length}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.type()} ${os.release()}; load ${loadBefore} before, ${loadAverage()} after. Run under the machine-wide heavy lock (no other benchmark or real-worker test at the same time).`,
		"- Server: real mediasoup 3.27.1 workers on the pinned Node 22, one router and one WebRtcServer (UDP, 127.0.0.1) per worker; transports UDP only, in groups of 4 alternating between the WebRtcServer and their own ports; half with an Opus producer (DTX), half data-only (`enableSctp`); the worker's consent check at its default (`iceConsentTimeout` 30 s).",
		`- Clients, all **real on the wire**, in ${first.clientProcesses} child processes of their own (their CPU is the "clients" column, not Node's), one UDP socket per transport on its own 127.x.y.z address: ICE by STUN Binding requests with USE-CANDIDATE, MESSAGE-INTEGRITY (HMAC-SHA1 with the server's ICE password) and FINGERPRINT, then a fresh consent check every ${CLIENT_TIMING.consentEveryMs / 1000} s (as werift); a real DTLS 1.2 handshake (werift ${werift.version}'s DTLS client, ECDSA P-256, the fingerprint given to \`connect()\`); media transports: real SRTP (AES128_CM_HMAC_SHA1_80, werift's SRTP session with keys exported from that handshake), one ${CLIENT_TIMING.rtpPayloadBytes}-byte Opus packet every ${CLIENT_TIMING.rtpEveryMs} ms (what an Opus DTX sender sends in silence; a talking client sends 50/s, which 5 000 senders on 2 cores cannot), no RTCP from the client; data-only transports: a real SCTP association (werift's SCTP over that DTLS), no DataChannel messages.`,
		'- Users: per group of 4 transports, one user with a media and a data-only transport (they vanish together: the sibling hint), one with a media transport, one with a data-only one. A vanished client closes its socket: nothing more is sent, as after a SIGKILL. Clients that do not connect are reported and left out.',
		"- Schedulers, one after the other over the same connected clients (what one closes or vanishes is gone for the next): the naive `setInterval(getStats, 2000)` per transport (judging \"no growth of `bytesReceived` for `inactivityTimeoutMs` 8 s\", closing nothing, so its false closes are the closes it would make); the old single round-robin, **emulated**: with real transports every watch lands in its worker's lane (`workerKeyOf`: the transport's channel), so the same total budget of 200/s is split evenly over the workers' lanes (200 / workers each: the same period per transport, transports / 200 s) and no `userId` is given (no sibling hints, which the old code did not have); the landed code with its defaults (200/s per worker, `userId` given); in the larger scenario, the landed code again with the budget raised to " +
			`${RAISED_BUDGET}/s per worker (a 3.9 s period at 1 250 per worker, so the 8 s bound plus one period stays under the 12 s p95 target).`,
		`- Per scheduler: measure the idle baseline (${first.baselineMs / 1000} s), watch every open transport, warm up (${first.warmMs / 1000} s; the old round-robin two of its periods), measure CPU over the last ${first.cpuWindowMs / 1000} s of it, then ${first.vanishUsersPerMode} users (${(scenarios[1] ?? first).vanishUsersPerMode} in the second scenario) vanish at random phases over ${first.vanishSpreadMs / 1000} s; wait for their closes (at most ${first.waitMs / 1000} s more). CPU above idle: the same figure minus an idle baseline measured right before each scheduler starts (the same clients connected and sending, nothing watched): /proc/<pid>/stat for workers, \`process.cpuUsage()\` for Node, \`monitorEventLoopDelay\` for the event loop; heap per watch: \`heapUsed\` after \`gc()\`, after watching minus before, over the watches.`,
		'- **Scaled down**: issue 17 asks for 10 000 transports over 4 workers. With real clients this 2-core machine cannot carry them: in a run at 10 000 (2026-12-05 08:18 UTC) 4 661 connected and, idle, the 4 workers alone took ~20 % of a core each and the clients ~47 %, so 10 000 would need more than the 2 cores. The larger scenario is therefore 5 000 over 4 workers (1 250 per worker); per-worker figures (budget, period) scale with transports per worker.',
		...(options.quick
			? []
			: [
					`- **Lossy link** (the last two scenarios, landed code only): each client skips each consent check with probability ${LOSSY_LINK} (seeded, in the client; nothing else is lost), the transports at \`iceConsentTimeout\` 12 s (mediasoup's own consent check as the detector: no poll needed, but two lost checks in a row, a 15 s gap, drop a live client) and at mediasoup's default 30 s (the judge decides; it must tolerate two lost checks). Live clients closed are the false closes, with their reasons; 2 000 transports over 2 workers (1 000 per worker: a 5 s poll period, the clients' own cadence), warmed up for 120 s so that the loss has time to strike.`,
				]),
		'- Targets (issue 17, at 10 000 over 4 workers): media median ≤ 10 s, p95 ≤ 12 s; 0 false closes; ≤ 1 % of a core above idle per worker; Node ≤ 5 %; heap ≤ 1.5 KB per watch.',
		...(unmeasured.length ? [`- **Not measured**: ${unmeasured.join('; ')}`] : []),
		'',
		rendered.join('\n\n'),
		'',
	].join('\n');
}

export const scaleReal: BenchSection = {
	name: 'scale-real',
	title:
		'liveness at scale with real 3.27.1 workers and real ICE/DTLS/SRTP/SCTP clients (naive, old round-robin, per-worker + hints)',
	run,
};
