// Real mediasoup worker, router and WebRtcTransports for integration tests.
// The worker binary is the project's own build (scripts/ensure-worker.mjs); vitest.config.ts
// points MEDIASOUP_WORKER_BIN at it before mediasoup is imported.
import { existsSync } from 'node:fs';
import type { types } from 'mediasoup';
import * as mediasoup from 'mediasoup';

export { mediasoup };
export type Worker = types.Worker;
export type Router = types.Router;
export type WebRtcTransport = types.WebRtcTransport;
export type WebRtcServer = types.WebRtcServer;

export const mediaCodecs: types.RtpCodecCapability[] = [
	{ kind: 'audio', mimeType: 'audio/opus', clockRate: 48_000, channels: 2 },
	{ kind: 'video', mimeType: 'video/VP8', clockRate: 90_000, parameters: {} },
];

/** Starts a real worker; fails loudly when the project's worker build is missing. */
export async function createTestWorker(settings: types.WorkerSettings = {}): Promise<Worker> {
	const bin = process.env.MEDIASOUP_WORKER_BIN;
	if (!bin || !existsSync(bin)) {
		throw new Error(
			`real mediasoup worker not found at ${bin ?? '(MEDIASOUP_WORKER_BIN unset)'}: run \`npm run worker\` (npm test does it for you)`,
		);
	}
	return mediasoup.createWorker({ logLevel: 'warn', rtcMinPort: 40_000, rtcMaxPort: 49_999, ...settings });
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

function isAlive(pid: number): boolean {
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
}

/** A WebRtcTransport on 127.0.0.1, UDP and TCP (or TCP only) — on its own port or on a WebRtcServer. */
export function createTestTransport(router: Router, options: TransportOptions = {}): Promise<WebRtcTransport> {
	const common = {
		enableUdp: !options.tcpOnly,
		enableTcp: true,
		preferUdp: !options.tcpOnly,
		enableSctp: options.enableSctp ?? false,
		appData: options.appData ?? {},
	};
	if (options.webRtcServer) {
		return router.createWebRtcTransport({ ...common, webRtcServer: options.webRtcServer });
	}
	return router.createWebRtcTransport({ ...common, listenIps: [{ ip: '127.0.0.1' }] });
}

export function createTestWebRtcServer(worker: Worker, port?: number): Promise<WebRtcServer> {
	return worker.createWebRtcServer({
		listenInfos: [
			{ protocol: 'udp', ip: '127.0.0.1', ...(port ? { port } : {}) },
			{ protocol: 'tcp', ip: '127.0.0.1', ...(port ? { port } : {}) },
		],
	});
}
