// The port budget on a real worker, both versions: the ports snapshot().ports counts are the ports
// the worker really bound for each transport (a second bind of them fails), per protocol, in the
// worker's rtcMinPort–rtcMaxPort (3.12 and, deprecated, 3.27) and in a listen info's portRange
// (3.14+); a full range is what makes createWebRtcTransport() fail; transports on a WebRtcServer
// hold no port of their own; every port is given back at the close. No client needed: ports are
// taken at creation.
import { createSocket } from 'node:dgram';
import { describe, expect, it } from 'vitest';
import type { WebRtcTransport } from '../helpers/mediasoup.js';
import {
	closeWorker,
	createTestRouter,
	createTestTransport,
	createTestWebRtcServer,
	createTestWorker,
	mediasoupAtLeast,
	workerLabel,
} from '../helpers/mediasoup.js';
import { useMediasoup } from '../helpers/mediasoup-fixture.js';

const sfu = useMediasoup({ watchdog: { maxPendingPerUser: Number.POSITIVE_INFINITY, iceRestart: { perUser: false } } });

/** The worker range createTestWorker() gives (test/helpers/mediasoup.ts). */
const WORKER_RANGE = { min: 40_000, max: 49_999 };

const portsOf = (transport: WebRtcTransport, protocol: 'udp' | 'tcp'): number[] =>
	transport.iceCandidates.filter((c) => c.protocol === protocol).map((c) => c.port);

/** Whether a UDP port on 127.0.0.1 is free (a bind succeeds). */
function udpFree(port: number): Promise<boolean> {
	return new Promise((resolve) => {
		const socket = createSocket('udp4');
		socket.once('error', () => resolve(false));
		socket.bind(port, '127.0.0.1', () => socket.close(() => resolve(true)));
	});
}

describe(`the port budget (${workerLabel})`, () => {
	it('counts the ports the worker bound for each transport, per protocol, and gives them back at the close', async () => {
		const [a, b] = [await createTestTransport(sfu.router), await createTestTransport(sfu.router)];
		const wa = sfu.watchdog.watch(a, { worker: sfu.worker, userId: 'a', ports: WORKER_RANGE });
		sfu.watchdog.watch(b, { worker: sfu.worker, userId: 'b', ports: WORKER_RANGE });
		const udp = [...portsOf(a, 'udp'), ...portsOf(b, 'udp')];
		expect(udp).toHaveLength(2);
		for (const port of udp) expect(await udpFree(port)).toBe(false);
		const ranges = sfu.watchdog.snapshot().ports.ranges;
		expect(ranges.map((r) => [r.pid, r.protocol, r.address, r.min, r.max, r.taken, r.transports])).toEqual([
			[sfu.worker.pid, 'udp', '127.0.0.1', 40_000, 49_999, 2, 2],
			[sfu.worker.pid, 'tcp', '127.0.0.1', 40_000, 49_999, 2, 2],
		]);
		expect(ranges[0]?.share).toBe(2 / 10_000);

		wa.close();
		expect(sfu.watchdog.snapshot().ports.ranges.map((r) => r.taken)).toEqual([1, 1]);
		// The worker frees the port when it handles the close request; it handles its channel's
		// requests in order, so once a later one is answered the port is free (checked at once, it
		// was not yet, once, under a CPU hog).
		await sfu.router.dump();
		for (const port of portsOf(a, 'udp')) expect(await udpFree(port)).toBe(true);
		b.close();
		expect(sfu.watchdog.snapshot().ports).toEqual({ ranges: [], webRtcServers: [] });
	});

	it('reaches share 1 when the range is full, and the next createWebRtcTransport() fails', async () => {
		// Its own worker with a two-port range (rtcMinPort/rtcMaxPort: the only range on 3.12).
		const worker = await createTestWorker({ rtcMinPort: 50_300, rtcMaxPort: 50_301 });
		try {
			const router = await createTestRouter(worker);
			const create = () => router.createWebRtcTransport({ listenIps: [{ ip: '127.0.0.1' }], enableUdp: true, enableTcp: false });
			for (const userId of ['a', 'b']) {
				sfu.watchdog.watch(await create(), { worker, userId, ports: { min: 50_300, max: 50_301 } });
			}
			expect(sfu.watchdog.snapshot().ports.ranges.map((r) => [r.protocol, r.taken, r.size, r.share])).toEqual([['udp', 2, 2, 1]]);
			await expect(create()).rejects.toThrow(/port/i);
		} finally {
			await closeWorker(worker);
		}
		expect(sfu.watchdog.snapshot().ports.ranges).toEqual([]);
	});

	// Listen infos with a portRange exist from 3.14 on: on 3.12 there is no such range to count.
	const on314 = mediasoupAtLeast('3.14.0') ? it : undefined;
	on314?.('counts a listen info portRange (3.14+) as its own range', async () => {
		const transport = await sfu.router.createWebRtcTransport({
			listenInfos: [{ protocol: 'udp', ip: '127.0.0.1', portRange: { min: 50_100, max: 50_109 } }],
		} as never);
		sfu.watchdog.watch(transport, { worker: sfu.worker, userId: 'a', ports: { min: 50_100, max: 50_109 } });
		const [port] = portsOf(transport, 'udp');
		expect(port).toBeGreaterThanOrEqual(50_100);
		expect(port).toBeLessThanOrEqual(50_109);
		expect(sfu.watchdog.snapshot().ports.ranges.map((r) => [r.protocol, r.min, r.max, r.taken, r.size, r.share])).toEqual([
			['udp', 50_100, 50_109, 1, 10, 0.1],
		]);
	});

	it('counts transports on a WebRtcServer on the server: they share its port and hold none of their own', async () => {
		const server = await createTestWebRtcServer(sfu.worker, 50_400);
		const [a, b] = [
			await createTestTransport(sfu.router, { webRtcServer: server }),
			await createTestTransport(sfu.router, { webRtcServer: server }),
		];
		expect([...portsOf(a, 'udp'), ...portsOf(b, 'udp')]).toEqual([50_400, 50_400]);
		sfu.watchdog.watch(a, { worker: sfu.worker, userId: 'a', ports: { webRtcServer: server } });
		sfu.watchdog.watch(b, { worker: sfu.worker, userId: 'b', ports: { webRtcServer: server } });
		expect(sfu.watchdog.snapshot().ports).toEqual({
			ranges: [],
			webRtcServers: [{ pid: sfu.worker.pid, id: server.id, transports: 2 }],
		});
		a.close();
		expect(sfu.watchdog.snapshot().ports.webRtcServers).toEqual([{ pid: sfu.worker.pid, id: server.id, transports: 1 }]);
	});
});
