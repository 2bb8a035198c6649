// Real mediasoup worker, router and WebRtcTransports for integration tests.
// The worker binary is the project's own build (scripts/ensure-worker.mjs); vitest.config.ts
// points MEDIASOUP_WORKER_BIN at it before mediasoup is imported.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename } from 'node:path';
import type { types } from 'mediasoup';
import * as mediasoup from 'mediasoup';
import { rememberLibraryListeners } from './watch-probes.js';

export { mediasoup };

// Which mediasoup these tests run on. The `mediasoup-3.12` vitest project imports the
// `mediasoup` devDependency (3.12.16) on Node 20; the `mediasoup-3.27` project resolves
// `mediasoup` to `mediasoup-latest` (3.27.1) and runs on Node 22 (vitest.config.ts).

/** The mediasoup version of this run, e.g. `'3.12.16'` or `'3.27.1'`. */
export const mediasoupVersion: string = mediasoup.version;

/** `'mediasoup 3.27.1'`: put it in test names and messages so a failure says which worker it was on. */
export const workerLabel = `mediasoup ${mediasoupVersion}`;

/** True when this run's mediasoup is `version` or newer (plain `x.y.z` versions). */
export function mediasoupAtLeast(version: string): boolean {
	const have = mediasoupVersion.split('.').map(Number);
	const want = version.split('.').map(Number);
	for (let i = 0; i < 3; i++) {
		const a = have[i] ?? 0;
		const b = want[i] ?? 0;
		if (a !== b) return a > b;
	}
	return true;
}

/**
 * The worker checks ICE consent itself (mediasoup 3.13.20+): `iceConsentTimeout` (seconds, default
 * 30, 10–60, 0 = off) turns ICE `'disconnected'` when no STUN Binding request came for that long.
 */
export const hasWorkerConsent: boolean = mediasoupAtLeast('3.13.20');

/**
 * Closing a WebRtcServer that still has transports leaves the worker alive (3.14.6+); 3.12.16's
 * worker dies with SIGILL there.
 */
export const webRtcServerCloseKeepsWorker: boolean = mediasoupAtLeast('3.14.6');

// mediasoup 3.19.3+ asks for Node >= 22 (`engines`): its project runs on the pinned Node 22
// (scripts/run-tests.mjs). MEDIASOUP_ALLOW_OLD_NODE=1 lets a comparison run on an older Node.
if (
	mediasoupAtLeast('3.19.3') &&
	Number(process.versions.node.split('.')[0]) < 22 &&
	process.env.MEDIASOUP_ALLOW_OLD_NODE !== '1'
) {
	throw new Error(
		`${workerLabel} needs Node >= 22, this is ${process.version}: run it through \`npm test\` (scripts/run-tests.mjs picks the pinned Node 22)`,
	);
}

/** `getStats()`/`dump()` of a closed transport reject with `WorkerClosedError`/`NotFoundError` (3.21+), `InvalidStateError` before. */
export const hasTypedClosedErrors: boolean = mediasoupAtLeast('3.21.0');

// Every real transport made in this process: its listeners at creation are mediasoup's own (3.27
// adds a `listenererror` one), which the leak probes (watch-probes.ts) leave out by identity.
// `newtransport` is emitted synchronously inside createWebRtcTransport(), before any caller holds it.
mediasoup.observer.on('newworker', (worker: Worker) => {
	worker.observer.on('newrouter', (router: Router) => {
		router.observer.on('newtransport', (transport: types.Transport) => rememberLibraryListeners(transport));
	});
});
export type Worker = types.Worker;
export type Router = types.Router;
export type WebRtcTransport = types.WebRtcTransport;
export type WebRtcServer = types.WebRtcServer;
export type Producer = types.Producer;

export const mediaCodecs: types.RtpCodecCapability[] = [
	{ kind: 'audio', mimeType: 'audio/opus', clockRate: 48_000, channels: 2 },
	{ kind: 'video', mimeType: 'video/VP8', clockRate: 90_000, parameters: {} },
];

/** Starts a real worker; fails loudly when the project's worker build is missing. */
export async function createTestWorker(settings: types.WorkerSettings = {}, options: TestWorkerOptions = {}): Promise<Worker> {
	const bin = process.env.MEDIASOUP_WORKER_BIN;
	if (!bin || !existsSync(bin)) {
		throw new Error(
			`real mediasoup worker not found at ${bin ?? '(MEDIASOUP_WORKER_BIN unset)'}: run \`npm run worker\` (npm test does it for you)`,
		);
	}
	// The project's cached builds are named mediasoup-worker-<version>-<arch>: a worker of another
	// version than the Node layer would fail in confusing ways (3.12 speaks JSON, 3.27 FlatBuffers).
	const builtFor = /^mediasoup-worker-(\d+\.\d+\.\d+)-/.exec(basename(bin))?.[1];
	if (builtFor && builtFor !== mediasoupVersion) {
		throw new Error(`MEDIASOUP_WORKER_BIN=${bin} is a ${builtFor} worker, but this run imports mediasoup ${mediasoupVersion}`);
	}
	const base = { logLevel: 'warn', rtcMinPort: 40_000, rtcMaxPort: 49_999, ...settings } as const;
	if (!options.binary) return mediasoup.createWorker(base);
	return createWorkerFrom(options.binary(bin), base);
}

export interface TestWorkerOptions {
	/**
	 * Start the worker through another executable, given the real worker binary: e.g. a wrapper
	 * script that execs it inside a network namespace (test/helpers/netns.ts). It must exec the
	 * real binary with the same arguments (mediasoup's pipes are fds 3 and 4).
	 */
	binary?: (realBinary: string) => string;
}

/**
 * createWorker() with another worker binary: the `workerBin` setting on mediasoup 3.19.11+; before
 * that, the Worker module's `workerBin` export, which the Worker constructor reads at each spawn
 * (set for that one synchronous call, then restored).
 */
function createWorkerFrom(binary: string, settings: types.WorkerSettings): Promise<Worker> {
	if (mediasoupAtLeast('3.19.11')) return mediasoup.createWorker({ ...settings, workerBin: binary } as types.WorkerSettings);
	const workerModule = createRequire(import.meta.url)('mediasoup/node/lib/Worker.js') as { workerBin: string };
	const previous = workerModule.workerBin;
	workerModule.workerBin = binary;
	try {
		return mediasoup.createWorker(settings);
	} finally {
		workerModule.workerBin = previous;
	}
}

/** Closes the worker (if still open) and resolves once its subprocess has exited. */
export async function closeWorker(worker: Worker): Promise<void> {
	const pid = worker.pid;
	if (!worker.closed) worker.close();
	const deadline = Date.now() + 5_000;
	while (isAlive(pid)) {
		if (Date.now() > deadline) throw new Error(`mediasoup worker pid ${pid} did not exit within 5 s`);
		await new Promise((resolve) => setTimeout(resolve, 10));
	}
}

/** Whether a process (a worker's pid) still exists. */
export function isAlive(pid: number): boolean {
	try {
		process.kill(pid, 0);
		return true;
	} catch {
		return false;
	}
}

export function createTestRouter(worker: Worker): Promise<Router> {
	return worker.createRouter({ mediaCodecs });
}

export interface TransportOptions {
	/** Put the transport on this WebRtcServer instead of its own port. */
	webRtcServer?: WebRtcServer;
	enableSctp?: boolean;
	appData?: Record<string, unknown>;
	/**
	 * Listen on TCP only (no UDP candidate): the client must connect over ICE-TCP, and closing
	 * that TCP connection turns ICE `'disconnected'` at once, even on mediasoup 3.12. Default false.
	 */
	tcpOnly?: boolean;
	/**
	 * mediasoup 3.13.20+ only: the worker's own ICE consent timeout in seconds (default 30, 10–60,
	 * 0 = off). Asking for it on an older mediasoup throws, so a test cannot believe it is on.
	 */
	iceConsentTimeout?: number;
}

/** A WebRtcTransport on 127.0.0.1, UDP and TCP (or TCP only) — on its own port or on a WebRtcServer. */
export function createTestTransport(router: Router, options: TransportOptions = {}): Promise<WebRtcTransport> {
	const common = {
		enableUdp: !options.tcpOnly,
		enableTcp: true,
		preferUdp: !options.tcpOnly,
		enableSctp: options.enableSctp ?? false,
		appData: options.appData ?? {},
		...consentOption(options.iceConsentTimeout),
	};
	if (options.webRtcServer) {
		return router.createWebRtcTransport({ ...common, webRtcServer: options.webRtcServer });
	}
	return router.createWebRtcTransport({ ...common, listenIps: [{ ip: '127.0.0.1' }] });
}

function consentOption(seconds: number | undefined): { iceConsentTimeout?: number } {
	if (seconds === undefined) return {};
	if (!hasWorkerConsent) {
		throw new Error(`iceConsentTimeout: ${seconds} asked for, but ${workerLabel} has no worker-side consent check (3.13.20+)`);
	}
	return { iceConsentTimeout: seconds };
}

export function createTestWebRtcServer(worker: Worker, port?: number): Promise<WebRtcServer> {
	return worker.createWebRtcServer({
		listenInfos: [
			{ protocol: 'udp', ip: '127.0.0.1', ...(port ? { port } : {}) },
			{ protocol: 'tcp', ip: '127.0.0.1', ...(port ? { port } : {}) },
		],
	});
}

/** Waits until the server has received RTP on `transport`, polling its stats every `everyMs`; throws after `withinMs`. */
export async function untilRtpReceived(transport: WebRtcTransport, withinMs = 15_000, everyMs = 200): Promise<void> {
	const deadline = performance.now() + withinMs;
	while (((await transport.getStats())[0]?.rtpBytesReceived ?? 0) === 0) {
		if (performance.now() > deadline) throw new Error(`no RTP reached the server within ${withinMs} ms`);
		await new Promise((resolve) => setTimeout(resolve, everyMs));
	}
}
