// The server of the companion end-to-end tests: HTTP on 127.0.0.1 serving the page, the built
// `mediasoup-watchdog/client` bundle and the app bundle (app.ts with mediasoup-client), a
// WebSocket for the app's signaling, and the goodbye endpoint (sendBeacon → watchdog.closeUser()).
// Every transport is a real WebRtcTransport listening on `listenIp`, watched by `watchdog` under
// the user the page joined as; every restart request and goodbye is recorded with its time.
import { once } from 'node:events';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type { types } from 'mediasoup';
import { WebSocketServer } from 'ws';
import { isIceRestartDeniedError, type TransportWatch, type Watchdog } from '../../../src/index.js';
import type { Router, WebRtcTransport } from '../mediasoup.js';
import {
	APP_PATH,
	CLIENT_PATH,
	CLIENT_PREFIX,
	type CompanionRequest,
	GOODBYE_PATH,
	type RestartReply,
	type WireRequest,
	type WireResponse,
	WS_PATH,
} from './protocol.js';

/** The page: the companion from a plain module script (onto window), then the app. */
const PAGE_HTML = `<!doctype html>
<html><head><meta charset="utf-8"><title>mediasoup-watchdog/client e2e</title></head>
<body>
<script type="module">
import * as client from '${CLIENT_PATH}';
window.__mswClient = client;
</script>
<script type="module" src="${APP_PATH}"></script>
</body></html>
`;

const root = fileURLToPath(new URL('../../../', import.meta.url));

/** Where the page's `mediasoup-watchdog/client` comes from, and its files by name. */
export interface ClientBundle {
	/** 'dist' (the package's built file, fresh) or 'esbuild' (built from src/client here). */
	readonly source: 'dist' | 'esbuild';
	readonly files: ReadonlyMap<string, string>;
}

/**
 * The package's own build (dist/client.js, and any chunk it imports) when it is at least as new as
 * every file of src/client (npm test builds it first); else src/client/index.ts bundled by esbuild
 * as ESM for the browser, so the test also runs on a clean clone before any build.
 */
export async function clientBundle(): Promise<ClientBundle> {
	const dist = join(root, 'dist');
	const srcDir = join(root, 'src', 'client');
	const built = join(dist, 'client.js');
	const newestSource = Math.max(...readdirSync(srcDir).map((name) => statSync(join(srcDir, name)).mtimeMs));
	if (existsSync(built) && statSync(built).mtimeMs >= newestSource) {
		const files = new Map<string, string>();
		const add = (name: string): void => {
			if (files.has(name)) return;
			const text = readFileSync(join(dist, name), 'utf8');
			files.set(name, text);
			for (const match of text.matchAll(/from\s*["']\.\/([^"']+\.js)["']/g)) add(basename(match[1] as string));
		};
		add('client.js');
		return { source: 'dist', files };
	}
	const result = await build({
		entryPoints: [join(srcDir, 'index.ts')],
		bundle: true,
		write: false,
		format: 'esm',
		platform: 'browser',
		target: 'es2022',
		logLevel: 'silent',
	});
	const output = result.outputFiles[0];
	if (!output) throw new Error('esbuild produced no output for src/client');
	return { source: 'esbuild', files: new Map([['client.js', output.text]]) };
}

let appBundle: Promise<string> | undefined;

/** esbuild bundle of app.ts (with mediasoup-client, without the companion); once per process. */
function bundleApp(): Promise<string> {
	appBundle ??= build({
		entryPoints: [fileURLToPath(new URL('./app.ts', import.meta.url))],
		bundle: true,
		write: false,
		format: 'esm',
		platform: 'browser',
		target: ['chrome120', 'firefox115'],
		logLevel: 'silent',
	}).then((result) => {
		const output = result.outputFiles[0];
		if (!output) throw new Error('esbuild produced no output for the companion app');
		return output.text;
	});
	return appBundle;
}

/** One `restartIce` request the server saw (times: performance.now() of this process). */
export interface RestartRecord {
	readonly transportId: string;
	readonly userId: string;
	readonly at: number;
	/** When the answer was sent. */
	answeredAt?: number;
	outcome?: 'granted' | string;
	retryAfterMs?: number | undefined;
}

export interface GoodbyeRecord {
	readonly userId: string;
	readonly at: number;
	/** Transports closeUser() closed. */
	readonly closed: number;
}

export interface CompanionServerOptions {
	router: Router;
	watchdog: Watchdog;
	/** The address every WebRtcTransport listens on (UDP only). */
	listenIp: string;
	bundle: ClientBundle;
	/**
	 * Called with each answered restart request before the answer goes to the page (awaited): a test
	 * restores the network on a grant, so the client's new checks find it up.
	 */
	beforeAnswer?: (record: RestartRecord) => void | Promise<void>;
}

export interface CompanionServer {
	readonly url: string;
	readonly restarts: RestartRecord[];
	readonly goodbyes: GoodbyeRecord[];
	/** Watches of the server transports, by user. */
	watchesOf(userId: string): TransportWatch[];
	transport(transportId: string): WebRtcTransport;
	close(): Promise<void>;
}

export async function startCompanionServer(options: CompanionServerOptions): Promise<CompanionServer> {
	const { router, watchdog, listenIp, bundle } = options;
	const app = await bundleApp();
	const restarts: RestartRecord[] = [];
	const goodbyes: GoodbyeRecord[] = [];
	const transports = new Map<string, WebRtcTransport>();
	const watches = new Map<string, TransportWatch[]>();
	const producers = new Map<string, types.Producer>();

	const handle = async (userId: string | undefined, request: CompanionRequest): Promise<unknown> => {
		if (request.method === 'join') return { routerRtpCapabilities: router.rtpCapabilities };
		if (userId === undefined) throw new Error('join first');
		if (request.method === 'createTransport') {
			const transport = await router.createWebRtcTransport({
				listenIps: [{ ip: listenIp }],
				enableUdp: true,
				enableTcp: false,
				appData: { userId, direction: request.data.direction },
			});
			transports.set(transport.id, transport);
			const watch = watchdog.watch(transport, { userId });
			watches.set(userId, [...(watches.get(userId) ?? []), watch]);
			return {
				id: transport.id,
				iceParameters: transport.iceParameters,
				iceCandidates: transport.iceCandidates,
				dtlsParameters: transport.dtlsParameters,
			};
		}
		const transport = transports.get(request.data.transportId);
		if (!transport || transport.appData.userId !== userId) throw new Error('unknown transport');
		switch (request.method) {
			case 'connect':
				await transport.connect({ dtlsParameters: request.data.dtlsParameters as types.DtlsParameters });
				return null;
			case 'produce': {
				const producer = await transport.produce({
					kind: request.data.kind,
					rtpParameters: request.data.rtpParameters as types.RtpParameters,
				});
				producers.set(producer.id, producer);
				return { id: producer.id };
			}
			case 'consume': {
				const consumer = await transport.consume({
					producerId: request.data.producerId,
					rtpCapabilities: request.data.rtpCapabilities as types.RtpCapabilities,
				});
				return { id: consumer.id, producerId: consumer.producerId, kind: consumer.kind, rtpParameters: consumer.rtpParameters };
			}
			case 'restartIce': {
				const record: RestartRecord = { transportId: transport.id, userId, at: performance.now() };
				restarts.push(record);
				const watch = watchdog.get(transport.id);
				let reply: RestartReply;
				if (!watch) {
					reply = { denied: 'closed' };
					record.outcome = 'closed';
				} else {
					try {
						reply = { iceParameters: await watch.restartIce() };
						record.outcome = 'granted';
					} catch (error) {
						if (!isIceRestartDeniedError(error)) throw error;
						record.outcome = error.reason;
						record.retryAfterMs = error.retryAfterMs ?? undefined;
						reply = { denied: error.reason, ...(error.retryAfterMs !== null ? { retryAfterMs: error.retryAfterMs } : {}) };
					}
				}
				await options.beforeAnswer?.(record);
				record.answeredAt = performance.now();
				return reply;
			}
		}
	};

	const http: Server = createServer((req, res) => {
		const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
		if (path === '/') {
			res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
			res.end(PAGE_HTML);
		} else if (path === APP_PATH || (path.startsWith(CLIENT_PREFIX) && bundle.files.has(path.slice(CLIENT_PREFIX.length)))) {
			res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-store' });
			res.end(path === APP_PATH ? app : bundle.files.get(path.slice(CLIENT_PREFIX.length)));
		} else if (path === GOODBYE_PATH && req.method === 'POST') {
			const at = performance.now();
			let body = '';
			req.on('data', (chunk: Buffer) => {
				body += chunk.toString('utf8');
			});
			req.on('end', () => {
				let userId: unknown;
				try {
					userId = (JSON.parse(body) as { userId?: unknown }).userId;
				} catch {
					userId = undefined;
				}
				if (typeof userId === 'string') {
					// The documented answer to a declared departure (docs/client.md).
					const closed = watchdog.closeUser(userId, { reason: 'client-left', detail: 'pagehide' });
					goodbyes.push({ userId, at, closed });
				}
				res.writeHead(204).end();
			});
		} else {
			res.writeHead(404).end();
		}
	});
	const wss = new WebSocketServer({ server: http, path: WS_PATH });
	wss.on('connection', (socket) => {
		let userId: string | undefined;
		socket.on('error', () => {});
		socket.on('message', (data) => {
			let message: WireRequest;
			try {
				message = JSON.parse(data.toString()) as WireRequest;
			} catch {
				return;
			}
			if (message.method === 'join') userId = message.data.userId;
			const reply = (response: WireResponse): void => {
				if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(response));
			};
			handle(userId, message).then(
				(result) => reply({ id: message.id, ok: true, data: result ?? null }),
				(error: unknown) => reply({ id: message.id, ok: false, error: error instanceof Error ? error.message : String(error) }),
			);
		});
	});
	// once() rejects on 'error' (a failed listen).
	await once(http.listen(0, '127.0.0.1'), 'listening');
	const { port } = http.address() as AddressInfo;
	let closing: Promise<void> | undefined;
	return {
		url: `http://127.0.0.1:${port}/`,
		restarts,
		goodbyes,
		watchesOf: (userId) => watches.get(userId) ?? [],
		transport(transportId) {
			const transport = transports.get(transportId);
			if (!transport) throw new Error(`no server transport ${transportId}`);
			return transport;
		},
		close() {
			closing ??= (async () => {
				for (const socket of wss.clients) socket.terminate();
				await new Promise<void>((resolve) => wss.close(() => resolve()));
				http.closeAllConnections();
				await new Promise<void>((resolve) => http.close(() => resolve()));
				for (const transport of transports.values()) if (!transport.closed) transport.close();
			})();
			return closing;
		},
	};
}
