// A real werift peer (its own process, one consent check every ~5 s, DataChannel only) frozen
// with SIGSTOP, on its own port and on a WebRtcServer, against the real mediasoup 3.12 worker:
// the liveness scheduler closes both transports with `inactive` within the bound it learned for
// that client (3× its longest healthy silence, at least inactivityTimeoutMs) plus one poll period;
// and the peer's SIGCONT afterwards resurrects nothing.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type CloseInfo, createWatchdog, DEFAULT_POLICY, type TransportWatch, type Watchdog } from '../../src/index.js';
import { CADENCE_FACTOR } from '../../src/liveness/judge.js';
import {
	closeWorker,
	createTestRouter,
	createTestTransport,
	createTestWebRtcServer,
	createTestWorker,
	type Router,
	type WebRtcServer,
	type WebRtcTransport,
	type Worker,
} from '../helpers/mediasoup.js';
import { closeAllWeriftClients, startWeriftClient, type WeriftClient } from '../helpers/werift/harness.js';

const T = DEFAULT_POLICY.inactivityTimeoutMs;
const P = DEFAULT_POLICY.liveness.pollIntervalMs;
/** werift's consent checks come every 4.5–5.6 s (clients.md); a little margin on top. */
const WERIFT_MAX_GAP_MS = 6_500;
/** Timer lateness on a shared 2-core machine and the signal reaching the child. */
const MEASUREMENT_SLACK_MS = 250;

let worker: Worker;
let router: Router;
let webRtcServer: WebRtcServer;
let watchdog: Watchdog;

beforeEach(async () => {
	worker = await createTestWorker();
	router = await createTestRouter(worker);
	webRtcServer = await createTestWebRtcServer(worker);
	watchdog = createWatchdog(); // the default policy
});

afterEach(async () => {
	watchdog.stop();
	await closeAllWeriftClients();
	await closeWorker(worker);
});

interface Peer {
	name: string;
	transport: WebRtcTransport;
	watch: TransportWatch;
	client: WeriftClient;
	closing: Promise<{ at: number; info: CloseInfo }>;
}

async function startPeer(name: string, onWebRtcServer: boolean): Promise<Peer> {
	const transport = await createTestTransport(router, { enableSctp: true, ...(onWebRtcServer ? { webRtcServer } : {}) });
	const watch = watchdog.watch(transport, { worker, userId: name });
	const closing = new Promise<{ at: number; info: CloseInfo }>((resolve) => {
		watch.on('close', (info) => resolve({ at: performance.now(), info }));
	});
	const client = await startWeriftClient({ transport });
	await client.waitForConnected();
	return { name, transport, watch, client, closing };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('a werift peer frozen with SIGSTOP', () => {
	it('is closed with `inactive` within its learned bound + one poll period, and its SIGCONT resurrects nothing', async () => {
		const peers = await Promise.all([startPeer('werift-own-port', false), startPeer('werift-webrtcserver', true)]);
		// Long enough to see a few consent checks and learn the cadence.
		await sleep(20_000);
		expect(peers.map((p) => p.watch.state)).toEqual(['connected', 'connected']);

		const stoppedAt = performance.now();
		for (const peer of peers) peer.client.stop();
		const closes = await Promise.all(peers.map((p) => p.closing));
		for (const [i, { at, info }] of closes.entries()) {
			const peer = peers[i] as Peer;
			expect(info.reason, peer.name).toBe('inactive');
			expect(info.closedByWatchdog).toBe(true);
			const bound = Number(/bound (\d+) ms/.exec(info.detail ?? '')?.[1]);
			expect(bound, peer.name).toBeGreaterThanOrEqual(T);
			expect(bound, peer.name).toBeLessThanOrEqual(CADENCE_FACTOR * WERIFT_MAX_GAP_MS);
			expect(info.detectionMs, peer.name).toBeGreaterThanOrEqual(bound);
			expect(at - stoppedAt, peer.name).toBeLessThanOrEqual(bound + P + MEASUREMENT_SLACK_MS);
			expect(peer.transport.closed).toBe(true);
		}

		// SIGCONT: werift wakes up and keeps sending to a transport that no longer exists.
		const after: string[] = [];
		for (const peer of peers) {
			peer.watch.on('statechange', ({ to }) => after.push(`${peer.name}: ${to}`));
			peer.client.cont();
		}
		await sleep(3 * P + 2_000);
		expect(after).toEqual([]);
		for (const peer of peers) {
			expect(peer.watch.state).toBe('closed');
			expect(peer.watch.closeReason).toBe('inactive');
			expect(peer.transport.closed).toBe(true);
			expect(watchdog.get(peer.transport.id)).toBeUndefined();
		}
		expect(watchdog.snapshot()).toMatchObject({
			transports: { connected: 0, connecting: 0, disconnected: 0, restarting: 0 },
			closes: { inactive: 2 },
			liveness: { tracked: 0 },
		});
		// The worker forgot both transports: nothing can bring them back.
		const dump = (await router.dump()) as { transportIds: string[] };
		for (const peer of peers) expect(dump.transportIds).not.toContain(peer.transport.id);
	}, 90_000);
});
