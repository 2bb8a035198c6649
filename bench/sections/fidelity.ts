// The fidelity section of `npm run bench` (issue 14 item 5): per real client (Chromium, Firefox
// ESR, GStreamer webrtcbin, werift) and per worker (mediasoup 3.12.16 on Node 20, 3.27.1 on the
// pinned Node 22), healthy idle transports closed by the watchdog (default policy), vanish
// detection by transport kind, and what mediasoup 3.27.1's own consent check gives alone. Each
// worker runs in a child process of its own (bench/fidelity/run-worker.ts: one mediasoup Node
// layer per process), one after the other; this section aggregates and renders
// (bench/fidelity/results.ts).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
// @ts-expect-error plain ESM helper shared with scripts/ (no types)
import { mediasoupVersion, node22Path, workerBinaryPath } from '../../scripts/worker-path.mjs';
import { DEFAULT_POLICY } from '../../src/index.js';
import { type FidelityConfig, RESULT_PREFIX } from '../fidelity/config.js';
import { aggregate, renderTables, type WorkerRun } from '../fidelity/results.js';
import { runChildForResult } from './child-result.js';
import type { BenchSection } from './index.js';

const RUN_WORKER = fileURLToPath(new URL('../fidelity/run-worker.ts', import.meta.url));
const HOOKS = fileURLToPath(new URL('../../test/helpers/mediasoup-latest-hooks.mjs', import.meta.url));
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

const FULL: FidelityConfig = {
	rounds: 1,
	idleMs: 65_000,
	waitAfterVanishMs: 90_000,
	watchedPerKind: { Chromium: 3, 'Firefox ESR': 4, 'GStreamer webrtcbin': 4, werift: 10 },
	alonePerKind: 1,
	startTimeoutMs: 120_000,
};
const QUICK: FidelityConfig = {
	rounds: 1,
	idleMs: 15_000,
	waitAfterVanishMs: 75_000,
	watchedPerKind: { Chromium: 1, 'Firefox ESR': 1, 'GStreamer webrtcbin': 1, werift: 1 },
	alonePerKind: 1,
	startTimeoutMs: 90_000,
};

interface WorkerSpec {
	readonly pkg: 'mediasoup' | 'mediasoup-latest';
	readonly node: string;
	readonly args: readonly string[];
}

const WORKERS: readonly WorkerSpec[] = [
	{ pkg: 'mediasoup', node: process.execPath, args: ['--import', TSX, RUN_WORKER] },
	{ pkg: 'mediasoup-latest', node: node22Path() as string, args: ['--import', TSX, '--import', HOOKS, RUN_WORKER] },
];

/** Runs one worker's child; resolves with its result, rejects when it gave none. */
function runWorker(spec: WorkerSpec, config: FidelityConfig, log: (line: string) => void): Promise<WorkerRun> {
	const version = mediasoupVersion(spec.pkg) as string;
	// Past this the child is hung: every round's start, idle window and wait, with room to spare.
	const limitMs = config.rounds * (config.startTimeoutMs + config.idleMs + config.waitAfterVanishMs + 60_000) + 60_000;
	return runChildForResult<WorkerRun>({
		command: spec.node,
		args: spec.args,
		env: { MEDIASOUP_WORKER_BIN: workerBinaryPath(spec.pkg) as string, FIDELITY_CONFIG: JSON.stringify(config) },
		resultPrefix: RESULT_PREFIX,
		limitMs,
		name: `mediasoup ${version}'s run`,
		log,
	});
}

function version(command: string, args: readonly string[]): string {
	try {
		return execFileSync(command, args, { encoding: 'utf8', timeout: 20_000, stdio: ['ignore', 'pipe', 'ignore'] }).trim();
	} catch {
		return 'unknown';
	}
}

function clientVersions(): string {
	const werift = JSON.parse(
		readFileSync(fileURLToPath(new URL('../../node_modules/werift/package.json', import.meta.url)), 'utf8'),
	) as { version: string };
	const gstreamer = version('/usr/bin/python3', [
		'-c',
		"import gi; gi.require_version('Gst', '1.0'); from gi.repository import Gst; Gst.init(None); print(Gst.version_string())",
	]);
	return [
		version('/usr/bin/chromium', ['--version']),
		version('/usr/bin/firefox-esr', ['--version']),
		gstreamer,
		`werift ${werift.version}`,
	].join(', ');
}

const loadAverage = (): string =>
	os
		.loadavg()
		.map((l) => l.toFixed(2))
		.join(' / ');

export async function runFidelity(options: { readonly quick: boolean; readonly log: (line: string) => void }): Promise<string> {
	const config = options.quick ? QUICK : FULL;
	const started = performance.now();
	const loadBefore = loadAverage();
	const date = new Date().toISOString().slice(0, 16).replace('T', ' ');
	const runs: WorkerRun[] = [];
	const unmeasured: string[] = [];
	for (const spec of WORKERS) {
		options.log(`  mediasoup ${mediasoupVersion(spec.pkg)} (${spec.node})`);
		try {
			runs.push(await runWorker(spec, config, options.log));
		} catch (error) {
			const text = error instanceof Error ? error.message : String(error);
			options.log(`  NOT MEASURED: ${text}`);
			unmeasured.push(text);
		}
	}
	if (runs.length === 0) throw new Error(`no worker measured: ${unmeasured.join('; ')}`);
	const minutes = (performance.now() - started) / 60_000;
	const cpus = os.cpus();
	const per = config.watchedPerKind;
	return [
		'## Fidelity: every real client on both workers',
		'',
		`\`${options.quick ? 'BENCH_QUICK=1 ' : ''}BENCH_SECTIONS=fidelity npm run bench\` (bench/sections/fidelity.ts, bench/fidelity/), ${date} UTC, ${minutes.toFixed(1)} min.`,
		'',
		`- Machine: ${cpus[0]?.model ?? 'unknown'} × ${cpus.length}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.type()} ${os.release()}; load ${loadBefore} before, ${loadAverage()} after.`,
		`- Workers: ${runs.map((r) => `${r.worker} on Node ${r.node}`).join('; ')} (each worker's run in its own process, one after the other; builds from scripts/ensure-worker.mjs).`,
		`- Clients: ${clientVersions()}, through the test harnesses (test/helpers/*).`,
		`- The watchdog's **default policy** (poll every ${DEFAULT_POLICY.liveness.pollIntervalMs} ms, \`inactivityTimeoutMs\` ${DEFAULT_POLICY.inactivityTimeoutMs}).`,
		`- Per worker, ${config.rounds} round(s). Each round, every client starts, side by side, watched transports of each kind (per kind: Chromium ${per.Chromium}, Firefox ${per['Firefox ESR']}, GStreamer ${per['GStreamer webrtcbin']}; werift ${per.werift}, DataChannel only, its one kind) and, on a worker with a consent check, ${config.alonePerKind} more per kind that nobody watches; all own-port transports (Chromium, GStreamer, werift on 127.0.0.1; Firefox, which never pairs with loopback, on a second worker of the same version in a network namespace).`,
		'- Kinds: *sending media* (an audio producer; werift has none), *DataChannel only* (one idle channel), *receive-only* (consuming a producer that never sends), *muted* (audio, then muted in the client only after RTP reached the server: mediasoup-client `pause()` with `zeroRtpOnPause`, GStreamer a valve).',
		`- After the last client of the round started, all stay idle ${config.idleMs / 1000} s; then each client is SIGKILLed (Firefox: all its tabs at once), at a random phase of the poll period.`,
		"- On 3.27.1 the watched transports keep the worker's consent check at its default (30 s), except GStreamer's, which get `iceConsentTimeout: 0` as docs/liveness.md advises for a client that sends no consent; the not-watched ones all keep the default.",
		...(unmeasured.length ? [`- **Not measured**: ${unmeasured.join('; ')}`] : []),
		...runs.flatMap((r) => r.notes.map((note) => `- ${r.worker}: ${note}`)),
		'',
		renderTables(aggregate(runs), config.waitAfterVanishMs),
		'',
	].join('\n');
}

export const fidelitySection: BenchSection = {
	name: 'fidelity',
	title: 'every real client × both workers: healthy idle closes, vanish detection by kind, mediasoup 3.27 consent alone',
	run: runFidelity,
};
