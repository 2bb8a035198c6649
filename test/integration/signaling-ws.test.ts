// bindSession() with a real `ws` server and real `ws` clients (in this process, and in a child
// process that is killed or frozen) against real mediasoup transports: what each way of leaving
// does to the user's transports, and how fast.
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import type { Watchdog } from '../../src/index.js';
import { createWatchdog } from '../../src/watchdog.js';
import { useMediasoup } from '../helpers/mediasoup-fixture.js';
import { ClientProcesses, SIGNALING_ONLY_POLICY, transportsOf } from '../helpers/signaling.js';

const sfu = useMediasoup();
let watchdog: Watchdog;
let http: Server;
let wss: WebSocketServer;
let url: string;
const children = new ClientProcesses();

beforeEach(async () => {
	watchdog = createWatchdog(SIGNALING_ONLY_POLICY);
	http = createServer();
	wss = new WebSocketServer({ server: http });
	await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
	url = `ws://127.0.0.1:${(http.address() as AddressInfo).port}/?user=alice`;
});

afterEach(async () => {
	children.killAll();
	watchdog.stop();
	for (const socket of wss.clients) socket.terminate();
	await new Promise<void>((resolve) => wss.close(() => resolve()));
	http.closeAllConnections();
	await new Promise<void>((resolve) => http.close(() => resolve()));
});

/** The server side of the next client socket. */
function nextServerSocket(): Promise<WebSocket> {
	return once(wss, 'connection').then(([socket]) => {
		(socket as WebSocket).on('error', () => {});
		return socket as WebSocket;
	});
}

/** A `ws` client in its own process, so that it can be killed or frozen. Resolves once open. */
async function childClient(): Promise<ChildProcess> {
	const code = `
		import { WebSocket } from 'ws';
		const socket = new WebSocket(${JSON.stringify(url)});
		socket.on('open', () => process.stdout.write('open\\n'));
		socket.on('error', () => {});
		setInterval(() => {}, 1 << 30);
	`;
	return children.start(code, { ready: 'open', what: 'ws client' });
}

describe('a real ws WebSocket bound with bindSession()', () => {
	it('closes both transports with signaling-closed within milliseconds when the client closes with 1000', async () => {
		const watched = await transportsOf(watchdog, sfu.router, 'alice');
		const serverSocket = nextServerSocket();
		const client = new WebSocket(url);
		await once(client, 'open');
		const binding = watchdog.bindSession('alice', await serverSocket);
		const closedAt = performance.now();
		client.close(1000, 'leaving');
		const infos = await Promise.all(watched.map((w) => w.closed));
		const latency = Math.max(...infos.map((info) => info.at - closedAt));
		console.info(`[signaling-ws] client close(1000) → both transports closed after ${latency.toFixed(1)} ms`);
		for (const [i, info] of infos.entries()) {
			expect(info).toMatchObject({
				reason: 'signaling-closed',
				clean: true,
				closedByWatchdog: true,
				detail: 'WebSocket closed with code 1000 (leaving)',
			});
			expect(watched[i]?.transport.closed).toBe(true);
		}
		expect(latency).toBeLessThan(200);
		expect(binding.state).toBe('closed');
	});

	it('reads close() without a code (1005 on the server) as clean', async () => {
		const watched = await transportsOf(watchdog, sfu.router, 'alice');
		const serverSocket = nextServerSocket();
		const client = new WebSocket(url);
		await once(client, 'open');
		const binding = watchdog.bindSession('alice', await serverSocket);
		client.close();
		const info = await watched[0]?.closed;
		expect(info?.reason).toBe('signaling-closed');
		expect(binding.end?.code).toBe(1005);
	});

	it('waits the grace and closes with signaling-lost when the client process is killed (1006)', async () => {
		const watched = await transportsOf(watchdog, sfu.router, 'alice');
		const serverSocket = nextServerSocket();
		const child = await childClient();
		const binding = watchdog.bindSession('alice', await serverSocket);
		const killedAt = performance.now();
		child.kill('SIGKILL');
		const infos = await Promise.all(watched.map((w) => w.closed));
		const after = Math.min(...infos.map((info) => info.at - killedAt));
		console.info(`[signaling-ws] SIGKILL → 1006 → signaling-lost after ${after.toFixed(0)} ms (grace 1000 ms)`);
		expect(binding.end).toMatchObject({ code: 1006, clean: false });
		for (const info of infos) {
			expect(info).toMatchObject({
				reason: 'signaling-lost',
				clean: false,
				detail: 'WebSocket closed with code 1006; no new session bound within 1000 ms',
			});
		}
		expect(after).toBeGreaterThanOrEqual(1_000);
		expect(after).toBeLessThan(1_500);
	});

	it('keeps the transports when the client reconnects within the grace', async () => {
		const watched = await transportsOf(watchdog, sfu.router, 'alice');
		wss.on('connection', (socket) => {
			socket.on('error', () => {});
			watchdog.bindSession('alice', socket);
		});
		const first = await childClient();
		const firstSocket = [...wss.clients][0];
		if (!firstSocket) throw new Error('the first client did not connect');
		first.kill('SIGKILL');
		await once(firstSocket, 'close');
		const lostAt = performance.now();
		await new Promise((resolve) => setTimeout(resolve, 300));
		const again = new WebSocket(url);
		await once(again, 'open');
		console.info(`[signaling-ws] reconnected ${(performance.now() - lostAt).toFixed(0)} ms after the 1006 (grace 1000 ms)`);
		await new Promise((resolve) => setTimeout(resolve, 1_500));
		for (const { watch, transport } of watched) {
			expect(watch.state).toBe('connecting');
			expect(transport.closed).toBe(false);
		}
	});

	it('finds a frozen (SIGSTOPped) client with heartbeatMs, terminates its socket and closes with signaling-lost', async () => {
		const watched = await transportsOf(watchdog, sfu.router, 'alice');
		const serverSocket = nextServerSocket();
		const child = await childClient();
		const socket = await serverSocket;
		const binding = watchdog.bindSession('alice', socket, { heartbeatMs: 300, graceMs: 200 });
		await new Promise((resolve) => setTimeout(resolve, 700)); // two answered pings
		expect(binding.state).toBe('active');
		const stoppedAt = performance.now();
		child.kill('SIGSTOP');
		const [info] = await Promise.all(watched.map((w) => w.closed));
		const after = (info?.at ?? 0) - stoppedAt;
		console.info(
			`[signaling-ws] SIGSTOP → no close at all; heartbeat 300 ms + grace 200 ms → signaling-lost after ${after.toFixed(0)} ms (detectionMs ${info?.detectionMs?.toFixed(0)})`,
		);
		expect(binding.end).toMatchObject({ heartbeat: true, clean: false });
		expect(info).toMatchObject({ reason: 'signaling-lost' });
		expect(info?.detail).toContain('WebSocket missed its heartbeat');
		// between one and two intervals after the last pong, plus the grace
		expect(after).toBeGreaterThanOrEqual(300 + 200 - 300);
		expect(after).toBeLessThan(2 * 300 + 200 + 300);
		expect(socket.readyState).toBe(WebSocket.CLOSED);
	});

	it('ignores the close of a socket that a newer one replaced', async () => {
		const watched = await transportsOf(watchdog, sfu.router, 'alice');
		const firstServer = nextServerSocket();
		const first = new WebSocket(url);
		await once(first, 'open');
		watchdog.bindSession('alice', await firstServer);
		const secondServer = nextServerSocket();
		const second = new WebSocket(url);
		await once(second, 'open');
		watchdog.bindSession('alice', await secondServer);
		first.close(1000);
		await once(first, 'close');
		await new Promise((resolve) => setTimeout(resolve, 1_200));
		expect(watched.every(({ watch }) => watch.state === 'connecting')).toBe(true);
		second.close(1001);
		expect((await watched[0]?.closed)?.reason).toBe('signaling-closed');
	});
});
