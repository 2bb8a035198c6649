// bindSession() with a real Socket.IO server and real Socket.IO clients (in this process, and in a
// child process that is killed or frozen) against real mediasoup transports: each disconnect
// reason Socket.IO gives, and a client that reconnects by itself within the grace.
import type { ChildProcess } from 'node:child_process';
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server, type Socket } from 'socket.io';
import { type Socket as ClientSocket, io as connect } from 'socket.io-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SessionBinding, Watchdog } from '../../src/index.js';
import { createWatchdog } from '../../src/watchdog.js';
import { useMediasoup } from '../helpers/mediasoup-fixture.js';
import { ClientProcesses, SIGNALING_ONLY_POLICY, transportsOf } from '../helpers/signaling.js';

const PING_INTERVAL_MS = 300;
const PING_TIMEOUT_MS = 300;

const sfu = useMediasoup();
let watchdog: Watchdog;
let http: HttpServer;
let ioServer: Server;
let url: string;
const clients = new Set<ClientSocket>();
const children = new ClientProcesses();
/** Every server socket, bound to its user as it connects (as an app would in 'connection'). */
const bindings: Array<{ socket: Socket; binding: SessionBinding; reasons: string[] }> = [];

beforeEach(async () => {
	watchdog = createWatchdog(SIGNALING_ONLY_POLICY);
	http = createServer();
	ioServer = new Server(http, { pingInterval: PING_INTERVAL_MS, pingTimeout: PING_TIMEOUT_MS });
	ioServer.on('connection', (socket) => {
		const reasons: string[] = [];
		socket.on('disconnect', (reason) => reasons.push(reason));
		bindings.push({ socket, binding: watchdog.bindSession(String(socket.handshake.auth.userId), socket), reasons });
	});
	await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
	url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
});

afterEach(async () => {
	children.killAll();
	for (const client of clients) client.disconnect();
	clients.clear();
	bindings.length = 0;
	watchdog.stop();
	await ioServer.close();
	http.closeAllConnections();
});

async function client(userId = 'alice'): Promise<ClientSocket> {
	const socket = connect(url, { auth: { userId }, transports: ['websocket'], reconnectionDelay: 50, reconnectionDelayMax: 50 });
	clients.add(socket);
	await clientEvent(socket, 'connect');
	return socket;
}

/** The arguments of the next `event` of a Socket.IO client socket (not a Node EventEmitter). */
function clientEvent(socket: ClientSocket, event: 'connect' | 'disconnect'): Promise<unknown[]> {
	return new Promise((resolve) => {
		socket.once(event, (...args: unknown[]) => resolve(args));
	});
}

/** A Socket.IO client in its own process. Resolves once connected. */
async function childClient(userId = 'alice'): Promise<ChildProcess> {
	const code = `
		import { io } from 'socket.io-client';
		const socket = io(${JSON.stringify(url)}, { auth: { userId: ${JSON.stringify(userId)} }, transports: ['websocket'] });
		socket.on('connect', () => process.stdout.write('connected\\n'));
	`;
	return children.start(code, { ready: 'connected', what: 'Socket.IO client' });
}

describe('a real Socket.IO server socket bound with bindSession()', () => {
	it('closes both transports with signaling-closed at once on "client namespace disconnect"', async () => {
		const watched = await transportsOf(watchdog, sfu.router, 'alice');
		const socket = await client();
		const at = performance.now();
		socket.disconnect();
		const infos = await Promise.all(watched.map((w) => w.closed));
		const latency = Math.max(...infos.map((info) => info.at - at));
		console.info(`[signaling-socketio] client disconnect() → both transports closed after ${latency.toFixed(1)} ms`);
		expect(bindings[0]?.reasons).toEqual(['client namespace disconnect']);
		for (const info of infos) {
			expect(info).toMatchObject({
				reason: 'signaling-closed',
				clean: true,
				detail: 'Socket.IO socket disconnected: client namespace disconnect',
			});
		}
		expect(latency).toBeLessThan(200);
	});

	it('closes at once on "server namespace disconnect" (the server kicks the user)', async () => {
		const watched = await transportsOf(watchdog, sfu.router, 'alice');
		await client();
		bindings[0]?.socket.disconnect();
		const info = await watched[0]?.closed;
		expect(info).toMatchObject({
			reason: 'signaling-closed',
			detail: 'Socket.IO socket disconnected: server namespace disconnect',
		});
	});

	it('waits the grace and closes with signaling-lost on "transport close" (client process killed)', async () => {
		const watched = await transportsOf(watchdog, sfu.router, 'alice');
		const child = await childClient();
		const at = performance.now();
		child.kill('SIGKILL');
		const infos = await Promise.all(watched.map((w) => w.closed));
		const after = Math.min(...infos.map((info) => info.at - at));
		console.info(`[signaling-socketio] SIGKILL → "${bindings[0]?.reasons[0]}" → signaling-lost after ${after.toFixed(0)} ms`);
		expect(bindings[0]?.reasons).toEqual(['transport close']);
		expect(bindings[0]?.binding.end).toMatchObject({ kind: 'socket.io', reason: 'transport close', clean: false });
		for (const info of infos) expect(info).toMatchObject({ reason: 'signaling-lost', clean: false });
		expect(after).toBeGreaterThanOrEqual(1_000);
		expect(after).toBeLessThan(1_500);
	});

	it('waits the grace and closes with signaling-lost on "ping timeout" (client process frozen)', async () => {
		const watched = await transportsOf(watchdog, sfu.router, 'alice');
		const child = await childClient();
		const at = performance.now();
		child.kill('SIGSTOP');
		const [info] = await Promise.all(watched.map((w) => w.closed));
		const after = (info?.at ?? 0) - at;
		console.info(
			`[signaling-socketio] SIGSTOP → "${bindings[0]?.reasons[0]}" (pingInterval ${PING_INTERVAL_MS} + pingTimeout ${PING_TIMEOUT_MS} ms) → signaling-lost after ${after.toFixed(0)} ms`,
		);
		expect(bindings[0]?.reasons).toEqual(['ping timeout']);
		expect(info).toMatchObject({ reason: 'signaling-lost', detail: expect.stringContaining('ping timeout') });
		expect(after).toBeLessThan(PING_INTERVAL_MS + PING_TIMEOUT_MS + 1_000 + 1_000);
	});

	it('keeps the transports when the client reconnects by itself within the grace', async () => {
		const watched = await transportsOf(watchdog, sfu.router, 'alice');
		const socket = await client();
		// The server drops the connection ("forced close" on its side); the client sees "transport
		// close" and reconnects by itself, as after a network blip.
		const clientSaw = clientEvent(socket, 'disconnect');
		bindings[0]?.socket.conn.close();
		await clientEvent(socket, 'connect');
		expect(bindings[0]?.reasons).toEqual(['forced close']);
		expect((await clientSaw)[0]).toBe('transport close');
		expect(bindings).toHaveLength(2);
		expect(bindings[0]?.binding.state).toBe('replaced');
		expect(bindings[1]?.binding.state).toBe('active');
		await new Promise((resolve) => setTimeout(resolve, 1_500));
		for (const { watch, transport } of watched) {
			expect(watch.state).toBe('connecting');
			expect(transport.closed).toBe(false);
		}
		socket.disconnect();
		expect((await watched[0]?.closed)?.reason).toBe('signaling-closed');
	});
});
