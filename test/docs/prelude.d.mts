// Names the code samples of README.md and docs/*.md may use without declaring them: the objects
// every mediasoup app already has. test/docs/code-samples.test.ts compiles each sample (a module of
// its own) together with this file. Kept out of test/tsconfig.json (not a `.ts` file) so that
// these globals never leak into the real tests.
import type { IncomingMessage } from 'node:http';
import type { Redis } from 'ioredis';
import type { types } from 'mediasoup';
import type { types as clientTypes } from 'mediasoup-client';
import type { TransportWatch, Watchdog, WatchdogPolicy, WebTransportSessionLike } from 'mediasoup-watchdog';
import type { Registry } from 'prom-client';
import type { Server as SocketIoServer } from 'socket.io';
import type { WebSocket, WebSocketServer } from 'ws';

/** How a peer's request handler answers: a value, or a thrown error. */
type Handler<Data> = (data: Data) => Promise<unknown>;

/** Signaling payloads are the app's own: loosely typed on purpose. */
// biome-ignore lint/suspicious/noExplicitAny: see above
type AppData = any;

/** The app's object for one connected user, as in mediasoup-demo (`Peer`). */
interface DocPeer {
	/** The peer's id (mediasoup-demo: `peerId`). */
	readonly id: string;
	/** The authenticated user's id. */
	readonly userId: string;
	/** The peer's signaling WebSocket (server side). */
	readonly socket: WebSocket;
	/** Sends a notification to the client. */
	notify(method: string, data?: Record<string, unknown>): void;
	/** Answers the client's requests of `method` with what `handler` resolves to. */
	handle<Data = { transportId: string }>(method: string, handler: Handler<Data>): void;
	/** Event style: `peer.on('request:restartIce', async (data, reply) => …)`. */
	on<Data = { transportId: string }>(
		event: string,
		listener: (data: Data, reply: (response: Record<string, unknown>) => void) => void | Promise<void>,
	): void;
	/** Leaves the room: closes the peer's transports, producers and consumers. */
	close(): void;
}

/** The app's signaling channel, from either end. */
interface DocSignaling {
	/** Client → server request. */
	request<Response = AppData>(method: string, data?: Record<string, unknown>): Promise<Response>;
	/** Server → client notification. */
	notify(peer: DocPeer, method: string, data?: Record<string, unknown>): void;
	/** Client side: handles the server's notifications of `method`. */
	onNotification(method: string, handler: (data: AppData) => void): void;
}

/** A logger with the usual levels. */
interface DocLogger {
	debug(...args: unknown[]): void;
	info(...args: unknown[]): void;
	warn(...args: unknown[]): void;
	error(...args: unknown[]): void;
}

declare global {
	// server side (mediasoup)
	const worker: types.Worker;
	const router: types.Router;
	const webRtcServer: types.WebRtcServer;
	/** Options of `router.createWebRtcTransport()`. */
	const options: types.WebRtcTransportOptions;
	/** A server-side WebRtcTransport. */
	const transport: types.WebRtcTransport;
	// server side (the watchdog and the app around it)
	const policy: WatchdogPolicy;
	const watchdog: Watchdog;
	const watch: TransportWatch<types.WebRtcTransport>;
	const userId: string;
	const peer: DocPeer;
	const signaling: DocSignaling;
	const log: DocLogger;
	const wss: WebSocketServer;
	const io: SocketIoServer;
	/** A WebTransport server (e.g. @fails-components/webtransport's `Http3Server`). */
	const webTransportServer: {
		sessionStream(path: string): AsyncIterable<WebTransportSessionLike & { readonly ready: Promise<void> }>;
	};
	const redis: Redis;
	const registry: Registry;
	function authenticate(request: IncomingMessage): string;
	function userIdOf(session: unknown): string;

	// browser side (mediasoup-client)
	const device: clientTypes.Device;
	const sendTransport: clientTypes.Transport;
	const recvTransport: clientTypes.Transport;
	function retryLater(): void;
}
