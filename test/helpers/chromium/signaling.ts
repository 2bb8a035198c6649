// Signaling server of the Chromium harness: HTTP on 127.0.0.1 (ephemeral port) serving the page
// and the esbuild bundle of page.ts, plus a `ws` WebSocketServer on the same HTTP server.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { type RawData, type WebSocket, WebSocketServer } from 'ws';
import { SCRIPT_PATH, type SignalingRequest, type SignalingResponse, WS_PATH } from './protocol.js';

const PAGE_HTML = `<!doctype html>
<html><head><meta charset="utf-8"><title>mediasoup-watchdog chromium client</title></head>
<body><script type="module" src="${SCRIPT_PATH}"></script></body></html>
`;

let bundle: Promise<string> | undefined;

/** esbuild bundle of page.ts (with mediasoup-client) for the browser; built once per process. */
export function pageBundle(): Promise<string> {
	bundle ??= build({
		entryPoints: [fileURLToPath(new URL('./page.ts', import.meta.url))],
		bundle: true,
		write: false,
		format: 'esm',
		platform: 'browser',
		target: 'chrome120',
		logLevel: 'silent',
	}).then((result) => {
		const output = result.outputFiles[0];
		if (!output) throw new Error('esbuild produced no output for the chromium harness page');
		return output.text;
	});
	// A failed build is retried on the next call instead of being cached.
	bundle.catch(() => {
		bundle = undefined;
	});
	return bundle;
}

/** How a server-side socket ended, as `ws` reports it. */
export interface SocketClose {
	code: number;
	reason: string;
	/** `performance.now()` in this process when `ws` emitted 'close'. */
	at: number;
}

/** Answers the page's signaling requests (see protocol.ts); a throw becomes an error reply. */
export type SignalingHandler = (request: SignalingRequest) => Promise<unknown>;

export interface SignalingServer {
	/** `http://127.0.0.1:<port>/`: the page to open. */
	readonly url: string;
	/** The most recent page socket, or undefined before the first one connects. */
	readonly socket: WebSocket | undefined;
	/** Resolves with the next socket that connects after this call (every caller gets it). */
	nextSocket(timeoutMs?: number): Promise<WebSocket>;
	/** Resolves when `socket` closes (at once if it already has); never rejects. */
	socketClosed(socket: WebSocket): Promise<SocketClose>;
	/** Terminates every socket and closes the WebSocket and HTTP servers. Idempotent. */
	close(): Promise<void>;
}

/** Starts a signaling server whose sockets' requests go to `handler`. */
export async function startSignalingServer(handler: SignalingHandler): Promise<SignalingServer> {
	const script = await pageBundle();
	const http: Server = createServer((req, res) => {
		const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
		if (path === '/') {
			res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
			res.end(PAGE_HTML);
		} else if (path === SCRIPT_PATH) {
			res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-store' });
			res.end(script);
		} else {
			res.writeHead(404).end();
		}
	});
	const wss = new WebSocketServer({ server: http, path: WS_PATH });
	const closes = new WeakMap<WebSocket, Promise<SocketClose>>();
	const waiters = new Set<{ resolve: (socket: WebSocket) => void; reject: (error: Error) => void }>();
	let current: WebSocket | undefined;
	let closed = false;

	wss.on('connection', (socket) => {
		current = socket;
		closes.set(
			socket,
			new Promise((resolve) => {
				socket.once('close', (code, reason) => resolve({ code, reason: reason.toString(), at: performance.now() }));
			}),
		);
		// Errors also end in 'close'; without a listener they would be thrown.
		socket.on('error', () => {});
		socket.on('message', (data) => onMessage(socket, data));
		for (const waiter of [...waiters]) waiter.resolve(socket);
	});

	function onMessage(socket: WebSocket, data: RawData): void {
		let message: SignalingRequest;
		try {
			message = JSON.parse(data.toString()) as SignalingRequest;
		} catch {
			return;
		}
		if (message.kind !== 'request') return;
		const reply = (response: SignalingResponse): void => {
			if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(response));
		};
		handler(message).then(
			(result) => reply({ kind: 'response', id: message.id, ok: true, data: result ?? null }),
			(error: unknown) =>
				reply({ kind: 'response', id: message.id, ok: false, error: error instanceof Error ? error.message : String(error) }),
		);
	}

	await new Promise<void>((resolve, reject) => {
		http.once('error', reject);
		http.listen(0, '127.0.0.1', () => {
			http.off('error', reject);
			resolve();
		});
	});
	const { port } = http.address() as AddressInfo;

	return {
		url: `http://127.0.0.1:${port}/`,
		get socket() {
			return current;
		},
		nextSocket(timeoutMs = 5_000) {
			if (closed) return Promise.reject(new Error('signaling server closed'));
			return new Promise<WebSocket>((resolve, reject) => {
				const waiter = {
					resolve: (socket: WebSocket): void => {
						clearTimeout(timer);
						waiters.delete(waiter);
						resolve(socket);
					},
					reject: (error: Error): void => {
						clearTimeout(timer);
						waiters.delete(waiter);
						reject(error);
					},
				};
				const timer = setTimeout(() => waiter.reject(new Error(`no page socket connected within ${timeoutMs} ms`)), timeoutMs);
				waiters.add(waiter);
			});
		},
		socketClosed(socket) {
			const close = closes.get(socket);
			if (!close) throw new Error('not a socket of this signaling server');
			return close;
		},
		async close() {
			if (closed) return;
			closed = true;
			for (const waiter of [...waiters]) waiter.reject(new Error('signaling server closed'));
			for (const socket of wss.clients) socket.terminate();
			await new Promise<void>((resolve) => wss.close(() => resolve()));
			http.closeAllConnections();
			await new Promise<void>((resolve) => http.close(() => resolve()));
		},
	};
}
