// One scenario of the scale-real benchmark, in its own process (Node 22 with
// test/helpers/mediasoup-latest-hooks.mjs: `mediasoup` is 3.27.1; MEDIASOUP_WORKER_BIN its build;
// SCALE_REAL_CONFIG a ScaleRealConfig; --expose-gc). Starts the real workers, a WebRtcServer on
// each, the transports (half on the WebRtcServers, half on their own ports; half with an Opus
// producer, half data-only with SCTP), the lean clients in child processes (clients.ts), then runs
// each mode in turn over the same connected clients: idle baseline, watch, warm up (CPU measured at its end),
// vanish some users at random phases, wait for the closes. Prints progress lines, then one line
// `@@scale-real <ScenarioRun JSON>`.
import { type ChildProcess, fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createWatchdog, type TransportWatch } from '../../src/index.js';
import { DEFAULT_POLICY } from '../../src/policy.js';
import { mediaCodecs, mediasoup, mediasoupVersion, type WebRtcTransport, type Worker } from '../../test/helpers/mediasoup.js';
import { type Mode, RAISED_BUDGET, type ScaleRealConfig } from './config.js';
import { type ClientTarget, type FromClient, RESULT_PREFIX, type ToClient, wallNow } from './protocol.js';
import type { CpuWindow, ModeRun, ScenarioRun, TransportRecord } from './results.js';

const CLIENT_ENTRY = fileURLToPath(new URL('./clients.ts', import.meta.url));
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const CLOCK_TICKS = 100;
const PORTS = { min: 20_000, max: 59_999 };

const config = JSON.parse(process.env.SCALE_REAL_CONFIG ?? '') as ScaleRealConfig;
const label = `${config.transports} / ${config.workers}${config.iceConsentTimeout === undefined ? '' : `, consent ${config.iceConsentTimeout} s`}`;
/** Seed of the clients' consent loss (client process c uses seed + c): SCALE_REAL_SEED replays a run. */
const lossSeed = Number(process.env.SCALE_REAL_SEED ?? Math.floor(Math.random() * 2 ** 31));
const log = (line: string): void => {
	process.stdout.write(`  [${label}] ${line}\n`);
};
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const message = (error: unknown): string => (error instanceof Error ? error.message : String(error));
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});

interface Slot {
	readonly id: number;
	readonly worker: Worker;
	readonly userId: string;
	readonly media: boolean;
	readonly sibling: boolean;
	readonly webRtcServer: boolean;
	readonly client: number;
	transport?: WebRtcTransport;
	/** Left out of every mode (with why), or gone in an earlier mode. */
	out?: string;
	vanishedAt?: number;
}

interface Client {
	readonly child: ChildProcess;
	readonly listeners: Set<(m: FromClient) => void>;
	/** Lines on its stderr (uncaught errors it survived). */
	errors: number;
	exit?: string;
}

function workerTicks(pid: number): number {
	const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
	const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
	return Number(fields[11]) + Number(fields[12]);
}

function next<K extends FromClient['type']>(client: Client, type: K, timeoutMs: number, onOther?: (m: FromClient) => void) {
	return new Promise<Extract<FromClient, { type: K }>>((resolve, reject) => {
		if (client.exit) return reject(new Error(`client process exited (${client.exit}) before '${type}'`));
		const timer = setTimeout(() => done(new Error(`client process sent no '${type}' within ${timeoutMs / 1000} s`)), timeoutMs);
		const listener = (m: FromClient): void => {
			if (m.type === type) done(undefined, m as Extract<FromClient, { type: K }>);
			else onOther?.(m);
		};
		const onExit = (): void => done(new Error(`client process exited (${client.exit}) before '${type}'`));
		const done = (error?: Error, value?: Extract<FromClient, { type: K }>): void => {
			clearTimeout(timer);
			client.listeners.delete(listener);
			client.child.off('exit', onExit);
			if (error) reject(error);
			else resolve(value as Extract<FromClient, { type: K }>);
		};
		client.listeners.add(listener);
		client.child.once('exit', onExit);
	});
}

function startClient(): Client {
	const child = fork(CLIENT_ENTRY, [], { execArgv: ['--import', TSX], stdio: ['ignore', 'inherit', 'pipe', 'ipc'] });
	const client: Client = { child, listeners: new Set(), errors: 0 };
	child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
		for (const line of chunk.split('\n').filter((l) => l.trim())) {
			client.errors += 1;
			if (client.errors <= 5) log(`client process ${child.pid}: ${line.slice(0, 300)}`);
		}
	});
	child.on('message', (m: FromClient) => {
		for (const listener of [...client.listeners]) listener(m);
	});
	child.once('exit', (code, signal) => {
		client.exit = `code ${code}, signal ${signal}`;
	});
	return client;
}

const tell = (client: Client, m: ToClient): void => {
	if (!client.exit) client.child.send(m);
};

/** Asks every client process for one figure; undefined for a process that does not answer within 10 s. */
function askAll<K extends 'cpu' | 'consent'>(
	clients: readonly Client[],
	type: K,
): Promise<Array<Extract<FromClient, { type: K }> | undefined>> {
	return Promise.all(
		clients.map((client) => {
			const reply = next(client, type, 10_000);
			tell(client, { type } as ToClient);
			return reply.catch(() => undefined);
		}),
	);
}

async function clientsCpuSeconds(clients: readonly Client[]): Promise<number> {
	const replies = await askAll(clients, 'cpu');
	return replies.reduce((sum, reply) => sum + (reply?.micros ?? 0), 0) / 1e6;
}

/** CPU of every part over `ms`: workers (/proc ticks), this Node process, the client processes; event-loop p99. */
async function measureCpu(workers: readonly Worker[], clients: readonly Client[], ms: number): Promise<CpuWindow> {
	const eld = monitorEventLoopDelay({ resolution: 10 });
	const ticks0 = workers.map((w) => workerTicks(w.pid));
	const node0 = process.cpuUsage();
	const clients0 = await clientsCpuSeconds(clients);
	const started = performance.now();
	eld.enable();
	await sleep(ms);
	eld.disable();
	const seconds = (performance.now() - started) / 1000;
	const node = process.cpuUsage(node0);
	const clients1 = await clientsCpuSeconds(clients);
	return {
		seconds,
		workerPercent: workers.map((w, i) => ((workerTicks(w.pid) - (ticks0[i] ?? 0)) / CLOCK_TICKS / seconds) * 100),
		nodePercent: ((node.user + node.system) / 1e6 / seconds) * 100,
		clientsPercent: ((clients1 - clients0) / seconds) * 100,
		eventLoopP99Ms: eld.percentile(99) / 1e6,
	};
}

async function setUp(workers: Worker[], clients: Client[]): Promise<{ slots: Slot[]; notes: string[]; setupSeconds: number }> {
	const started = performance.now();
	const notes: string[] = [];
	if (config.consentLoss) {
		log(`consent loss ${config.consentLoss}: seed ${lossSeed} (SCALE_REAL_SEED=${lossSeed} replays it)`);
		notes.push(
			`Each client skips each consent check with probability ${config.consentLoss} (seeded: SCALE_REAL_SEED=${lossSeed}).`,
		);
	}
	for (let c = 0; c < config.clientProcesses; c++) clients.push(startClient());
	const fingerprints = await Promise.all(clients.map((client) => next(client, 'fingerprint', 60_000)));
	for (let w = 0; w < config.workers; w++) {
		workers.push(await mediasoup.createWorker({ logLevel: 'error' }));
	}
	const sides = await Promise.all(
		workers.map(async (worker) => ({
			worker,
			router: await worker.createRouter({ mediaCodecs }),
			// 3.27 options (the types here are 3.12's): a port from a range.
			server: await worker.createWebRtcServer({
				listenInfos: [{ protocol: 'udp', ip: '127.0.0.1', portRange: PORTS } as never],
			}),
		})),
	);
	// Transport i: media when even; groups of 4 (i >> 2): a user with a media and a data-only
	// transport (siblings), a media-only user, a data-only user; groups alternate WebRtcServer / own
	// ports; groups of 8 share a worker; pairs of transports alternate between the client processes.
	const slots: Slot[] = Array.from({ length: config.transports }, (_, id) => {
		const group = id >> 2;
		const inGroup = id % 4;
		const side = sides[(id >> 3) % config.workers] as (typeof sides)[number];
		return {
			id,
			worker: side.worker,
			userId: inGroup < 2 ? `pair-${group}` : `solo-${id}`,
			media: id % 2 === 0,
			sibling: inGroup < 2,
			webRtcServer: group % 2 === 0,
			client: (id >> 1) % config.clientProcesses,
		};
	});
	const left = (slot: Slot, why: string): void => {
		slot.out = why;
		slot.transport?.close();
	};
	const BATCH = 200;
	for (let i = 0; i < slots.length; i += BATCH) {
		await Promise.all(
			slots.slice(i, i + BATCH).map(async (slot) => {
				const side = sides[(slot.id >> 3) % config.workers] as (typeof sides)[number];
				try {
					const common = {
						enableUdp: true,
						enableTcp: false,
						enableSctp: !slot.media,
						...(config.iceConsentTimeout === undefined ? {} : { iceConsentTimeout: config.iceConsentTimeout }),
					};
					slot.transport = await (slot.webRtcServer
						? side.router.createWebRtcTransport({ ...common, webRtcServer: side.server })
						: side.router.createWebRtcTransport({
								...common,
								listenInfos: [{ protocol: 'udp', ip: '127.0.0.1', portRange: PORTS }],
							} as never));
					const fingerprint = fingerprints[slot.client] as { value: string };
					await slot.transport.connect({
						dtlsParameters: { role: 'client', fingerprints: [{ algorithm: 'sha-256', value: fingerprint.value }] },
					});
					if (slot.media) {
						await slot.transport.produce({
							kind: 'audio',
							rtpParameters: {
								codecs: [
									{
										mimeType: 'audio/opus',
										payloadType: 111,
										clockRate: 48_000,
										channels: 2,
										parameters: { useinbandfec: 1, usedtx: 1 },
									},
								],
								encodings: [{ ssrc: 100_000 + slot.id, dtx: true }],
								headerExtensions: [],
								rtcp: { cname: `c${slot.id}`, reducedSize: true },
							},
						});
					}
				} catch (error) {
					if (!slots.some((s) => s.out?.startsWith('server side'))) log(`server side failed: ${message(error)}`);
					left(slot, `server side: ${message(error)}`);
				}
			}),
		);
	}
	log(
		`${slots.filter((s) => !s.out).length} transports created and producing in ${((performance.now() - started) / 1000).toFixed(1)} s; connecting the clients…`,
	);
	await Promise.all(
		clients.map(async (client, c) => {
			const targets: ClientTarget[] = [];
			for (const slot of slots) {
				if (slot.client !== c || slot.out || !slot.transport) continue;
				const candidate = slot.transport.iceCandidates[0];
				if (!candidate) {
					left(slot, 'no ICE candidate');
					continue;
				}
				const { usernameFragment, password } = slot.transport.iceParameters;
				targets.push({
					id: slot.id,
					ufrag: usernameFragment,
					password,
					ip: (candidate as { address?: string }).address ?? candidate.ip,
					port: candidate.port,
					...(slot.media ? { ssrc: 100_000 + slot.id } : {}),
				});
			}
			const reply = next(client, 'connected', Math.max(300_000, targets.length * 150), (m) => {
				if (m.type === 'progress') log(`client process ${c}: ${m.done} of ${targets.length} done`);
			});
			tell(client, { type: 'connect', targets, consentLoss: { probability: config.consentLoss ?? 0, seed: lossSeed + c } });
			try {
				const { failed } = await reply;
				for (const { id, error } of failed) left(slots[id] as Slot, `client: ${error}`);
			} catch (error) {
				notes.push(`client process ${c}: ${message(error)}`);
				for (const t of targets) left(slots[t.id] as Slot, `client process: ${message(error)}`);
			}
		}),
	);
	await sleep(1_000);
	for (const slot of slots) {
		const t = slot.transport;
		if (slot.out || !t) continue;
		if (t.dtlsState !== 'connected' || (t.iceState !== 'connected' && t.iceState !== 'completed')) {
			left(slot, `server saw ICE ${t.iceState}, DTLS ${t.dtlsState}`);
		}
	}
	const out = new Map<string, number>();
	for (const slot of slots) if (slot.out) out.set(slot.out, (out.get(slot.out) ?? 0) + 1);
	for (const [why, n] of out) notes.push(`${n} transport(s) left out: ${why}`);
	const setupSeconds = (performance.now() - started) / 1000;
	log(`${slots.filter((s) => !s.out).length} of ${slots.length} connected (setup ${setupSeconds.toFixed(0)} s)`);
	return { slots, notes, setupSeconds };
}

/** One mode over the transports still open: watch, warm up, vanish, wait, release. */
async function runMode(mode: Mode, slots: Slot[], workers: Worker[], clients: Client[]): Promise<ModeRun> {
	const live = slots.filter((s) => !s.out && s.transport && !s.transport.closed);
	// The idle baseline of this mode: the same clients connected and sending, nothing watched.
	const idle = await measureCpu(workers, clients, config.baselineMs);
	log(`${mode}: idle ${JSON.stringify(idle, (_, v) => (typeof v === 'number' ? Math.round(v * 100) / 100 : v))}`);
	const closedAt = new Map<number, { at: number; reason: string }>();
	gc();
	const heap0 = process.memoryUsage().heapUsed;
	let release: () => void;
	if (mode === 'naive') {
		const timers: NodeJS.Timeout[] = [];
		for (const slot of live) {
			const t = slot.transport as WebRtcTransport;
			let last: number | undefined;
			let grewAt = wallNow();
			const poll = async (): Promise<void> => {
				const stats = await t.getStats().catch(() => undefined);
				const bytes = stats?.[0]?.bytesReceived;
				if (bytes === undefined || closedAt.has(slot.id)) return;
				const now = wallNow();
				if (bytes !== last) {
					last = bytes;
					grewAt = now;
				} else if (now - grewAt >= DEFAULT_POLICY.inactivityTimeoutMs) closedAt.set(slot.id, { at: now, reason: 'naive' });
			};
			timers.push(
				setTimeout(() => {
					void poll();
					timers.push(setInterval(() => void poll(), DEFAULT_POLICY.liveness.pollIntervalMs));
				}, Math.random() * DEFAULT_POLICY.liveness.pollIntervalMs),
			);
		}
		release = () => {
			for (const timer of timers) clearTimeout(timer);
		};
	} else {
		const perWorker =
			mode === 'shared'
				? 200 / config.workers
				: mode === 'per-worker-raised'
					? RAISED_BUDGET
					: DEFAULT_POLICY.liveness.maxStatsRequestsPerSecond;
		// Per-user limits off (as in the cost section): the shared mode gives no userId; they play no part in liveness.
		const watchdog = createWatchdog({
			liveness: { maxStatsRequestsPerSecond: perWorker },
			iceRestart: { perUser: false },
			maxPendingPerUser: Number.POSITIVE_INFINITY,
		});
		const watches: TransportWatch[] = [];
		for (const slot of live) {
			const watch = watchdog.watch(slot.transport as WebRtcTransport, {
				worker: slot.worker,
				...(mode === 'shared' ? {} : { userId: slot.userId }),
			});
			watch.on('close', (info) => {
				if (!closedAt.has(slot.id)) closedAt.set(slot.id, { at: wallNow(), reason: info.reason });
			});
			watches.push(watch);
		}
		release = () => watchdog.stop();
	}
	gc();
	const heapPerWatch = (process.memoryUsage().heapUsed - heap0) / live.length;
	// The old shared round-robin polls each transport every transports / 200 s: two of its periods
	// before the vanishes, so that every transport has its baseline sample and a second one.
	const warmMs = mode === 'shared' ? Math.max(config.warmMs, ((2 * live.length) / 200) * 1000) : config.warmMs;
	log(`${mode}: watching ${live.length}; heap ${heapPerWatch.toFixed(0)} B per watch; warm ${(warmMs / 1000).toFixed(0)} s`);
	await sleep(warmMs - config.cpuWindowMs);
	const cpu = await measureCpu(workers, clients, config.cpuWindowMs);
	log(`${mode}: ${JSON.stringify(cpu, (_, v) => (typeof v === 'number' ? Math.round(v * 100) / 100 : v))}`);

	// Vanish whole users (a pair's two transports together), at random phases.
	const users = new Map<string, Slot[]>();
	for (const slot of live) if (!closedAt.has(slot.id)) users.set(slot.userId, [...(users.get(slot.userId) ?? []), slot]);
	const names = [...users.keys()];
	const chosen: Slot[] = [];
	for (let n = 0; n < config.vanishUsersPerMode && names.length > 0; n++) {
		const [name] = names.splice(Math.floor(Math.random() * names.length), 1);
		chosen.push(...(users.get(name as string) ?? []));
	}
	const vanished = new Map<number, number>();
	const onVanished = (m: FromClient): void => {
		if (m.type === 'vanished') vanished.set(m.id, m.at);
	};
	for (const client of clients) client.listeners.add(onVanished);
	const delayOf = new Map<string, number>();
	clients.forEach((client, c) => {
		const vanish = chosen
			.filter((s) => s.client === c)
			.map((s) => {
				const afterMs = delayOf.get(s.userId) ?? Math.random() * config.vanishSpreadMs;
				delayOf.set(s.userId, afterMs);
				return { id: s.id, afterMs };
			});
		tell(client, { type: 'vanish', vanish });
	});
	const deadline = performance.now() + config.vanishSpreadMs + config.waitMs;
	await sleep(config.vanishSpreadMs + 500);
	while (performance.now() < deadline && !chosen.every((s) => closedAt.has(s.id))) await sleep(500);
	for (const client of clients) client.listeners.delete(onVanished);
	release();
	const consent = { sent: 0, skipped: 0 };
	for (const counts of await askAll(clients, 'consent')) {
		consent.sent += counts?.sent ?? 0;
		consent.skipped += counts?.skipped ?? 0;
	}
	const records: TransportRecord[] = live.map((slot) => {
		const closed = closedAt.get(slot.id);
		const vanishedAt = vanished.get(slot.id);
		if (vanishedAt !== undefined) slot.vanishedAt = vanishedAt;
		return {
			media: slot.media,
			sibling: slot.sibling,
			webRtcServer: slot.webRtcServer,
			...(vanishedAt !== undefined ? { vanishedAt } : {}),
			...(closed ? { closedAt: closed.at, reason: closed.reason } : {}),
		};
	});
	// What vanished or was closed is gone for the next modes.
	for (const slot of live) {
		if (vanished.has(slot.id) || chosen.includes(slot) || (mode !== 'naive' && closedAt.has(slot.id))) {
			slot.out = `gone in the ${mode} run`;
			if (!slot.transport?.closed) slot.transport?.close();
		}
	}
	log(`${mode}: ${chosen.length} vanished, ${closedAt.size} closed (or would be)`);
	await sleep(2_000);
	return { mode, watched: live.length, heapPerWatch, idle, cpu, records, consent };
}

async function main(): Promise<void> {
	const workers: Worker[] = [];
	const clients: Client[] = [];
	let run: ScenarioRun | undefined;
	try {
		const { slots, notes, setupSeconds } = await setUp(workers, clients);
		if (!slots.some((s) => !s.out)) throw new Error(`no transport connected: ${notes.join('; ')}`);
		const connected = slots.filter((s) => !s.out).length;
		const modes: ModeRun[] = [];
		for (const mode of config.modes) {
			try {
				modes.push(await runMode(mode, slots, workers, clients));
			} catch (error) {
				notes.push(`${mode}: not measured: ${message(error)}`);
				log(`${mode}: NOT MEASURED: ${message(error)}`);
			}
		}
		for (const [c, client] of clients.entries()) {
			if (client.exit) notes.push(`client process ${c} exited early (${client.exit})`);
			if (client.errors)
				notes.push(`client process ${c}: ${client.errors} error line(s) on stderr (the first 5 are in the run's log)`);
		}
		run = {
			worker: `mediasoup ${mediasoupVersion}`,
			node: process.version,
			transports: config.transports,
			workers: config.workers,
			...(config.iceConsentTimeout === undefined ? {} : { iceConsentTimeout: config.iceConsentTimeout }),
			...(config.consentLoss ? { consentLoss: config.consentLoss } : {}),
			connected,
			setupSeconds,
			modes,
			notes,
		};
	} finally {
		for (const client of clients) tell(client, { type: 'stop' });
		for (const worker of workers) worker.close();
	}
	// Exit once the line is written: a result of several megabytes outgrows the pipe's buffer, and
	// an exit before it drained cut it short (the 5 000 / 4 run of 2026-12-07 gave "no result").
	process.stdout.write(`${RESULT_PREFIX}${JSON.stringify(run)}\n`, () => process.exit(0));
}

main().catch((error: unknown) => {
	process.stderr.write(`scale-real run: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
	process.exit(1);
});
