// A real werift peer (its own process, one consent check every 4–6 s, DataChannel only) frozen
// with SIGSTOP, on its own port and on a WebRtcServer, against the real mediasoup 3.12 worker:
// the liveness scheduler closes both transports with `inactive` within the bound it learned for
// that client (3× its longest gap as the samples read it, at least inactivityTimeoutMs, at most 60 s) plus
// one poll period, although the worker's own SCTP heartbeat (every ~30 s) falls in that window;
// and the peer's SIGCONT afterwards resurrects nothing. The test measures the client's real
// consent gaps itself (every 200 ms) and holds the learned bound to them: werift's gaps are 4–6 s
// alone, but were seen at 10 s in a full run.
import { afterEach, describe, expect, it } from 'vitest';
import { type CloseInfo, DEFAULT_POLICY, type TransportWatch } from '../../src/index.js';
import { CADENCE_FACTOR, CADENCE_WINDOW_MS, CONSENT_REPLY_BYTES, MAX_BOUND_MS } from '../../src/liveness/judge.js';
import { createTestTransport, type WebRtcTransport } from '../helpers/mediasoup.js';
import { useMediasoup } from '../helpers/mediasoup-fixture.js';
import { closeAllWeriftClients, spawnWeriftClient, type WeriftClient } from '../helpers/werift/harness.js';

const T = DEFAULT_POLICY.inactivityTimeoutMs;
const P = DEFAULT_POLICY.liveness.pollIntervalMs;
/** How often the test itself samples the worker's counters to measure the client's consent gaps. */
const TRACE_MS = 200;
/** Timer lateness on a shared 2-core machine and the signal reaching the child. */
const MEASUREMENT_SLACK_MS = 250;

const sfu = useMediasoup({
	webRtcServer: true,
	watchdog: {}, // the default policy
	closeClients: [closeAllWeriftClients],
});

afterEach(() => {
	for (const trace of traces) trace.stop();
});

interface Peer {
	name: string;
	transport: WebRtcTransport;
	watch: TransportWatch;
	client: WeriftClient;
	closing: Promise<{ at: number; info: CloseInfo }>;
	trace: ConsentTrace;
}

const traces = new Set<ConsentTrace>();

/**
 * The client's consent checks as the worker counts them, sampled every TRACE_MS from the moment it
 * connected: inbound bytes on its own port, whole 64-byte replies on a WebRtcServer.
 */
class ConsentTrace {
	readonly #transport: WebRtcTransport;
	readonly #onServer: boolean;
	readonly #timer: NodeJS.Timeout;
	#last: { in: number; out: number } | undefined;
	#lastCheckAt = performance.now();
	readonly gapsMs: number[] = [];

	constructor(transport: WebRtcTransport, onServer: boolean) {
		this.#transport = transport;
		this.#onServer = onServer;
		this.#timer = setInterval(() => void this.#sample().catch(() => this.stop()), TRACE_MS);
		traces.add(this);
	}

	async #sample(): Promise<void> {
		const at = performance.now();
		const stats = (await this.#transport.getStats())[0];
		if (!stats) return;
		const now = { in: stats.bytesReceived, out: stats.bytesSent };
		const last = this.#last;
		this.#last = now;
		if (!last) return;
		const sign = this.#onServer ? now.out > last.out && (now.out - last.out) % CONSENT_REPLY_BYTES.ipv4 === 0 : now.in > last.in;
		if (!sign) return;
		this.gapsMs.push(Math.round(at - this.#lastCheckAt));
		this.#lastCheckAt = at;
	}

	get longestGapMs(): number {
		return Math.max(0, ...this.gapsMs);
	}

	stop(): void {
		clearInterval(this.#timer);
		traces.delete(this);
	}
}

async function startPeer(name: string, onWebRtcServer: boolean): Promise<Peer> {
	// Spawned before the watch: the spawn (tsx + werift, over 15 s on 2 busy cores) is the harness's cost, not the client's.
	const peer = await spawnWeriftClient();
	const transport = await createTestTransport(sfu.router, {
		enableSctp: true,
		...(onWebRtcServer ? { webRtcServer: sfu.webRtcServer } : {}),
	});
	const watch = sfu.watchdog.watch(transport, { worker: sfu.worker, userId: name });
	const closing = new Promise<{ at: number; info: CloseInfo }>((resolve) => {
		watch.on('close', (info) => resolve({ at: performance.now(), info }));
	});
	const client = await peer.connect({ transport });
	await client.waitForConnected();
	return { name, transport, watch, client, closing, trace: new ConsentTrace(transport, onWebRtcServer) };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Every peer's close, or an error that says what the worker and the watchdog saw when one is late. */
async function closedWithin(peers: Peer[], ms: number): Promise<Array<{ at: number; info: CloseInfo }>> {
	let timer: NodeJS.Timeout | undefined;
	const describeLate = async (): Promise<Error> => {
		const views = await Promise.all(
			peers.map(async (p) => {
				const stats = p.transport.closed ? 'closed' : JSON.stringify((await p.transport.getStats())[0]);
				return `${p.name}: ${p.watch.state}, client ${p.client.exited ? 'exited' : 'alive'}, stats ${stats}`;
			}),
		);
		const liveness = JSON.stringify(sfu.watchdog.snapshot().liveness);
		return new Error(`not all closed ${ms} ms after SIGSTOP:\n${views.join('\n')}\nliveness ${liveness}`);
	};
	const late = new Promise<never>((_, reject) => {
		timer = setTimeout(() => void describeLate().then(reject, reject), ms);
	});
	try {
		return await Promise.race([Promise.all(peers.map((p) => p.closing)), late]);
	} finally {
		clearTimeout(timer);
	}
}

describe('a werift peer frozen with SIGSTOP', () => {
	it('is closed with `inactive` within the detection bound of its learned bound, and its SIGCONT resurrects nothing', async () => {
		const peers = await Promise.all([startPeer('werift-own-port', false), startPeer('werift-webrtcserver', true)]);
		// Long enough to see a few consent checks and learn the cadence: the judge takes the silences
		// of a transport without media for its cadence once its signs span CADENCE_WINDOW_MS.
		await sleep(CADENCE_WINDOW_MS + 6_000);
		expect(peers.map((p) => p.watch.state)).toEqual(['connected', 'connected']);

		for (const peer of peers) peer.trace.stop();
		for (const peer of peers) {
			console.log(`${peer.name}: consent checks after ${peer.trace.gapsMs.join(', ')} ms`);
			expect(peer.trace.gapsMs.length, peer.name).toBeGreaterThanOrEqual(2);
		}
		// The bound each transport can have earned: 3× the longest gap measured, as the judge reads it
		// (from one sample that grew to the next: up to a poll period longer than the gap), capped at
		// MAX_BOUND_MS.
		const earned = (peer: Peer): number =>
			Math.max(T, Math.min(CADENCE_FACTOR * (peer.trace.longestGapMs + TRACE_MS + P), MAX_BOUND_MS));

		// The latest a silence of `boundMs` is acted on, from the client's last packet: the bound after
		// the poll that saw that packet (which may come a period later), or the next turn when a period
		// is longer, as snapshot().liveness.detectionBoundMs computes it (docs/liveness.md).
		const latest = (boundMs: number): number => Math.max(boundMs, P) + P;

		const stoppedAt = performance.now();
		for (const peer of peers) peer.client.stop();
		// The worker's own SCTP heartbeats (every ~30 s) keep moving bytesSent meanwhile: they must not count.
		const closes = await closedWithin(peers, Math.max(...peers.map((p) => latest(earned(p)))) + MEASUREMENT_SLACK_MS);
		for (const [i, { at, info }] of closes.entries()) {
			const peer = peers[i] as Peer;
			expect(info.reason, peer.name).toBe('inactive');
			expect(info.closedByWatchdog).toBe(true);
			const bound = Number(/bound (\d+) ms/.exec(info.detail ?? '')?.[1]);
			expect(bound, peer.name).toBeGreaterThanOrEqual(T);
			expect(bound, peer.name).toBeLessThanOrEqual(earned(peer));
			expect(info.detectionMs, peer.name).toBeGreaterThanOrEqual(bound);
			// From the last sign the watchdog saw: the first poll at or past the bound (the round-robin's,
			// or the judge's own when the bound ends first).
			expect(info.detectionMs, peer.name).toBeLessThanOrEqual(Math.ceil(bound / P) * P + MEASUREMENT_SLACK_MS);
			expect(at - stoppedAt, peer.name).toBeLessThanOrEqual(latest(bound) + MEASUREMENT_SLACK_MS);
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
			expect(sfu.watchdog.get(peer.transport.id)).toBeUndefined();
		}
		expect(sfu.watchdog.snapshot()).toMatchObject({
			transports: { connected: 0, connecting: 0, disconnected: 0, restarting: 0 },
			closes: { inactive: 2 },
			liveness: { tracked: 0 },
		});
		// The worker forgot both transports: nothing can bring them back.
		const dump = (await sfu.router.dump()) as { transportIds: string[] };
		for (const peer of peers) expect(dump.transportIds).not.toContain(peer.transport.id);
	}, 150_000);
});
