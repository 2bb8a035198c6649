// A WebRtcServer closed while transports still listen on it: on mediasoup 3.14.6+ each transport
// gets `listenserverclose`, every watch ends `listen-server-closed`, and the worker lives on. On
// mediasoup 3.12.16 the same close kills the worker with SIGILL (fixed in 3.14.6; measured for
// issue 14), so this file runs in the mediasoup-3.27 vitest project only (vitest.config.ts leaves
// mediasoup-327-* out of mediasoup-3.12). Real werift peers hold two of the transports.
import { describe, expect, it } from 'vitest';
import type { CloseInfo, TransportWatch } from '../../src/index.js';
import { listenerDiff, listenersOn } from '../helpers/leaks.js';
import {
	createTestTransport,
	createTestWebRtcServer,
	isAlive,
	type WebRtcTransport,
	webRtcServerCloseKeepsWorker,
	workerLabel,
} from '../helpers/mediasoup.js';
import { useMediasoup } from '../helpers/mediasoup-fixture.js';
import { closeAllWeriftClients, startWeriftClient } from '../helpers/werift/harness.js';

if (!webRtcServerCloseKeepsWorker) {
	throw new Error(
		`${workerLabel}: closing a WebRtcServer with live transports kills its worker (3.12.16: SIGILL); run this file in mediasoup-3.27`,
	);
}

const sfu = useMediasoup({ watchdog: {}, closeClients: [closeAllWeriftClients] });

describe(`a WebRtcServer closed with live transports (${workerLabel})`, () => {
	it('ends every watch `listen-server-closed` (connected and still connecting), leaves nothing behind, and the worker lives on', async () => {
		const server = await createTestWebRtcServer(sfu.worker);
		const watched: Array<{
			transport: WebRtcTransport;
			watch: TransportWatch;
			closing: Promise<CloseInfo>;
			/** Listeners before the watch: the werift harness's own (it records the server's events). */
			before: Record<string, number>;
		}> = [];
		for (const [i, connect] of [true, true, false].entries()) {
			const transport = await createTestTransport(sfu.router, { enableSctp: true, webRtcServer: server });
			const client = connect ? await startWeriftClient({ transport }) : undefined;
			const before = listenersOn(transport);
			const watch = sfu.watchdog.watch(transport, { worker: sfu.worker, userId: `user-${i}` });
			const closing = new Promise<CloseInfo>((resolve) => watch.on('close', resolve));
			await client?.waitForConnected();
			watched.push({ transport, watch, closing, before });
		}
		expect(watched.map((w) => w.watch.state)).toEqual(['connected', 'connected', 'connecting']);
		const died: unknown[] = [];
		sfu.worker.on('died', (error) => died.push(error));

		server.close();
		const infos = await Promise.all(watched.map((w) => w.closing));
		for (const info of infos) {
			expect(info).toMatchObject({ reason: 'listen-server-closed', clean: true, closedByWatchdog: false });
		}
		expect(infos.map((info) => info.connectedOnce)).toEqual([true, true, false]);
		for (const { transport, watch, before } of watched) {
			expect(transport.closed).toBe(true);
			expect(watch.state).toBe('closed');
			expect(listenerDiff(listenersOn(transport), before)).toEqual({});
			expect(sfu.watchdog.get(transport.id)).toBeUndefined();
		}
		expect(sfu.watchdog.snapshot().transports).toEqual({ connecting: 0, connected: 0, disconnected: 0, restarting: 0 });

		// The worker is alive and still serves: a new transport on a new server connects a new peer.
		await new Promise((resolve) => setTimeout(resolve, 500));
		expect(died).toEqual([]);
		expect(sfu.worker.closed).toBe(false);
		expect(isAlive(sfu.worker.pid)).toBe(true);
		const next = await createTestTransport(sfu.router, {
			enableSctp: true,
			webRtcServer: await createTestWebRtcServer(sfu.worker),
		});
		const watch = sfu.watchdog.watch(next, { worker: sfu.worker, userId: 'after' });
		await (await startWeriftClient({ transport: next })).waitForConnected();
		expect(watch.state).toBe('connected');
	}, 120_000);
});
