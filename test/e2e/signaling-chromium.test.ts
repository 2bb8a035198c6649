// Signaling-fused presence end to end: a real Chromium page (mediasoup-client, a send and a receive
// transport carrying fake audio and video) whose signaling WebSocket is bound with bindSession(),
// against the real mediasoup worker. Closing the page, killing the browser and a WebSocket that
// drops and reconnects, measured.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CloseInfo, SessionBinding, TransportWatch, Watchdog } from '../../src/index.js';
import { createWatchdog } from '../../src/watchdog.js';
import { type ChromiumClient, closeAllChromiumClients, launchChromiumClient } from '../helpers/chromium/harness.js';
import { useMediasoup } from '../helpers/mediasoup-fixture.js';

const GRACE_MS = 2_000;

const sfu = useMediasoup({ closeClients: [closeAllChromiumClients] });
let watchdog: Watchdog;

beforeEach(() => {
	// The policy's defaults otherwise: media liveness (inactivityTimeoutMs 10 s) runs alongside.
	watchdog = createWatchdog({ signalingGraceMs: GRACE_MS });
});

afterEach(() => {
	watchdog.stop();
});

interface Page {
	client: ChromiumClient;
	binding: SessionBinding;
	watches: TransportWatch[];
	closed: Array<Promise<CloseInfo & { at: number }>>;
}

/** A connected page of `alice` with both transports watched and its WebSocket bound. */
async function page(): Promise<Page> {
	const watches: TransportWatch[] = [];
	const client = await launchChromiumClient(sfu.router, {
		appData: { userId: 'alice' },
		onTransport: (transport) => {
			watches.push(watchdog.watch(transport));
		},
	});
	await client.waitForConnected({ directions: ['send', 'recv'] });
	const binding = watchdog.bindSession('alice', client.socket);
	const closed = watches.map((watch) => watch.closed.then((info) => ({ ...info, at: performance.now() })));
	expect(watches.map((watch) => watch.state)).toEqual(['connected', 'connected']);
	return { client, binding, watches, closed };
}

describe('Chromium with its signaling WebSocket bound', () => {
	it('closes both transports with signaling-closed within 200 ms of page.close()', async () => {
		const { client, binding, closed } = await page();
		const socketClosed = client.socketClosed();
		const at = performance.now();
		await client.closePage();
		const infos = await Promise.all(closed);
		const latency = Math.max(...infos.map((info) => info.at - at));
		const socketAfter = (await socketClosed).at - at;
		console.info(
			`[signaling-chromium] page.close() → WebSocket ${binding.end?.code} after ${socketAfter.toFixed(1)} ms → both transports closed after ${latency.toFixed(1)} ms`,
		);
		expect(binding.end).toMatchObject({ kind: 'ws', code: 1001, clean: true });
		for (const info of infos) {
			expect(info).toMatchObject({
				reason: 'signaling-closed',
				clean: true,
				closedByWatchdog: true,
				connectedOnce: true,
				detail: 'WebSocket closed with code 1001',
			});
		}
		expect(latency).toBeLessThan(200);
		expect(client.transports.every((transport) => transport.closed)).toBe(true);
	});

	it('closes both transports with signaling-lost after the grace when every browser process is SIGKILLed', async () => {
		const { client, binding, closed } = await page();
		const at = performance.now();
		await client.kill();
		const infos = await Promise.all(closed);
		const after = Math.min(...infos.map((info) => info.at - at));
		console.info(
			`[signaling-chromium] SIGKILL (all processes) → WebSocket ${binding.end?.code} → ${infos.map((i) => i.reason).join(', ')} after ${after.toFixed(0)} ms (grace ${GRACE_MS} ms, inactivityTimeoutMs ${watchdog.policy.inactivityTimeoutMs})`,
		);
		expect(binding.end).toMatchObject({ code: 1006, clean: false });
		for (const info of infos) {
			expect(info).toMatchObject({
				reason: 'signaling-lost',
				clean: false,
				detail: `WebSocket closed with code 1006; no new session bound within ${GRACE_MS} ms`,
			});
		}
		expect(after).toBeGreaterThanOrEqual(GRACE_MS);
		expect(after).toBeLessThan(GRACE_MS + 1_000);
	});

	it('lets media liveness win with inactive when the grace is longer than the inactivity timeout', async () => {
		watchdog.stop();
		watchdog = createWatchdog({ signalingGraceMs: 30_000, inactivityTimeoutMs: 3_000, liveness: { pollIntervalMs: 500 } });
		const { client, binding, closed } = await page();
		const at = performance.now();
		await client.kill();
		const infos = await Promise.all(closed);
		const after = Math.max(...infos.map((info) => info.at - at));
		console.info(
			`[signaling-chromium] SIGKILL, grace 30 000 ms, inactivityTimeoutMs 3 000 → ${infos.map((i) => i.reason).join(', ')} after ${after.toFixed(0)} ms (binding: ${binding.state})`,
		);
		for (const info of infos) expect(info).toMatchObject({ reason: 'inactive', clean: false });
		// The session's grace is still running; when it ends there is nothing left to close.
		expect(binding.state).toBe('grace');
		expect(after).toBeLessThan(30_000);
	});

	it('closes with whatever the WebSocket reports when only the main browser process is SIGKILLed', async () => {
		const { client, binding, closed } = await page();
		const at = performance.now();
		await client.killBrowserProcess();
		const infos = await Promise.all(closed);
		const after = Math.min(...infos.map((info) => info.at - at));
		const code = binding.end?.code;
		console.info(
			`[signaling-chromium] SIGKILL (main process only) → WebSocket ${code} → ${infos[0]?.reason} after ${after.toFixed(0)} ms`,
		);
		// The network process often still sends 1001 (clients.md): then it reads as a clean leave.
		const expected = code === 1000 || code === 1001 ? 'signaling-closed' : 'signaling-lost';
		for (const info of infos) expect(info.reason).toBe(expected);
		expect(after).toBeLessThan(expected === 'signaling-closed' ? 1_000 : GRACE_MS + 1_000);
	});

	it('keeps both transports connected when the page reconnects its WebSocket within the grace', async () => {
		const { client, binding, watches } = await page();
		// A network blip: the connection dies without a close frame (1006 on the server), and the
		// page opens a new WebSocket, which the app binds to the same user.
		const dropped = client.socketClosed();
		client.socket.terminate();
		const { code } = await dropped;
		const lostAt = performance.now();
		const next = client.nextSocket();
		await client.reconnectSocket();
		const fresh = watchdog.bindSession('alice', await next);
		console.info(`[signaling-chromium] WebSocket ${code}, new one bound ${(performance.now() - lostAt).toFixed(0)} ms later`);
		expect(code).toBe(1006);
		expect(binding.state).toBe('replaced');
		expect(fresh.state).toBe('active');
		await new Promise((resolve) => setTimeout(resolve, GRACE_MS + 500));
		expect(watches.map((watch) => watch.state)).toEqual(['connected', 'connected']);
		expect(client.transports.some((transport) => transport.closed)).toBe(false);
		// The new socket is followed: closing the page now still ends the user at once.
		await client.closePage();
		expect((await watches[0]?.closed)?.reason).toBe('signaling-closed');
	});
});
