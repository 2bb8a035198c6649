// A real Chromium (mediasoup-client) that vanishes without a word — its page closed, or the
// whole browser SIGKILLed — against the real mediasoup 3.12 worker, which reports nothing at all:
// under the default policy, with no signaling session bound, the shared liveness scheduler closes
// every server transport of that client with `inactive` within inactivityTimeoutMs + one poll period
// of the client's last packet (found by the test's own 100 ms probe of bytesReceived). That holds
// too for a receive transport whose media never reached it, which the worker only probes.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type CloseInfo, DEFAULT_POLICY, type TransportWatch } from '../../src/index.js';
import { MAX_BOUND_MS } from '../../src/liveness/judge.js';
import { type ChromiumClient, closeAllChromiumClients, launchChromiumClient } from '../helpers/chromium/harness.js';
import { LoadProbe } from '../helpers/load-probe.js';
import type { WebRtcTransport } from '../helpers/mediasoup.js';
import { useMediasoup } from '../helpers/mediasoup-fixture.js';

const T = DEFAULT_POLICY.inactivityTimeoutMs;
const P = DEFAULT_POLICY.liveness.pollIntervalMs;
/** How often the test's own probe reads bytesReceived to find the client's last packet. */
const PROBE_MS = 100;
/**
 * Timer lateness on an idle shared 2-core machine. What a busier machine adds (late timers, slow
 * worker answers) is measured by a LoadProbe and allowed on top: a few ms idle; under
 * stress-ng --cpu 2 a close came 93 ms past the idle allowance.
 */
const TIMER_SLACK_MS = 100;
/** The page or the browser may take this long to go quiet after the call that ends it. */
const TEARDOWN_MS = 1_500;

const sfu = useMediasoup({
	webRtcServer: true,
	watchdog: {}, // the default policy
	closeClients: [closeAllChromiumClients],
});

/** What this machine adds to timers and worker answers during each test. */
let load: LoadProbe;
beforeEach(() => {
	load = new LoadProbe(sfu.worker);
	probes.push(load);
});

afterEach(() => {
	for (const p of probes.splice(0)) p.stop();
});

interface Watched {
	watch: TransportWatch;
	closing: Promise<{ at: number; info: CloseInfo }>;
	/** When the test's probe last saw bytesReceived grow (the client's last packet is at most PROBE_MS earlier). */
	lastGrowthAt: () => number;
}

/** The test's own fine-grained view of bytesReceived, independent of the watchdog. */
function probe(transport: WebRtcTransport): { lastGrowthAt: () => number; stop: () => void } {
	let last = -1;
	let grewAt = performance.now();
	const timer = setInterval(() => {
		const at = performance.now();
		transport.getStats().then(
			([stats]) => {
				if (stats && stats.bytesReceived !== last) {
					last = stats.bytesReceived;
					grewAt = at;
				}
			},
			() => undefined,
		);
	}, PROBE_MS);
	return { lastGrowthAt: () => grewAt, stop: () => clearInterval(timer) };
}

const probes: Array<{ stop: () => void }> = [];

/** Watches a server transport from its creation, with the test's own probe of it. */
function watchAndProbe(transport: WebRtcTransport): Watched {
	const watch = sfu.watchdog.watch(transport, { worker: sfu.worker });
	const closing = new Promise<{ at: number; info: CloseInfo }>((resolve) => {
		watch.on('close', (info) => resolve({ at: performance.now(), info }));
	});
	const seen = probe(transport);
	probes.push(seen);
	return { watch, closing, lastGrowthAt: seen.lastGrowthAt };
}

/** Chromium sending and receiving audio+video, every server transport watched from creation. */
async function launchWatched(onWebRtcServer: boolean): Promise<{ client: ChromiumClient; watched: Watched[] }> {
	const watched: Watched[] = [];
	const client = await launchChromiumClient(sfu.router, {
		appData: { userId: `chromium-${onWebRtcServer ? 'server' : 'own-port'}` },
		...(onWebRtcServer ? { webRtcServer: sfu.webRtcServer } : {}),
		onTransport: (transport) => {
			watched.push(watchAndProbe(transport));
		},
	});
	await client.waitForConnected();
	expect(watched.map((w) => w.watch.state)).toEqual(['connected', 'connected']);
	return { client, watched };
}

/** Lets media flow a few seconds (a phase of the poll schedule that varies run to run). */
const flow = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 3_000 + Math.random() * P));

async function expectInactiveWithinBound(watched: Watched[], vanishedAt: number): Promise<void> {
	const closes = await Promise.all(watched.map((w) => w.closing));
	for (const [i, { at, info }] of closes.entries()) {
		expect(info.reason).toBe('inactive');
		expect(info.clean).toBe(false);
		expect(info.closedByWatchdog).toBe(true);
		// detectionMs: from the last growth of bytesReceived the scheduler saw, to the close.
		expect(info.detectionMs).toBeGreaterThanOrEqual(T);
		expect(info.detectionMs).toBeLessThanOrEqual(T + P);
		// From the client's last packet (as early as the probe allows) to the close, plus what this
		// machine added to timers and worker answers meanwhile (measured by the LoadProbe).
		const lastPacketAt = (watched[i] as Watched).lastGrowthAt() - PROBE_MS;
		const { timerMs, workerMs } = load.between(lastPacketAt, at);
		const addedMs = timerMs + workerMs;
		console.info(
			`[liveness-chromium] transport ${i}: closed ${(at - lastPacketAt).toFixed(0)} ms after its last packet ` +
				`(bound ${T + P} + ${TIMER_SLACK_MS} + ${addedMs.toFixed(0)} ms measured)`,
		);
		expect(at - lastPacketAt).toBeLessThanOrEqual(T + P + TIMER_SLACK_MS + addedMs);
		// And from the call that made it vanish.
		expect(at - vanishedAt).toBeLessThanOrEqual(T + P + TEARDOWN_MS + addedMs);
	}
	expect(sfu.watchdog.snapshot()).toMatchObject({
		transports: { connected: 0 },
		closes: { inactive: watched.length },
		liveness: { tracked: 0, unjudged: 0, statsErrors: 0 },
	});
}

describe('a Chromium client that vanishes silently', () => {
	it('closes both transports of a closed page (own ports) with `inactive` within inactivityTimeoutMs + one poll period', async () => {
		const { client, watched } = await launchWatched(false);
		await flow();
		expect(watched.map((w) => w.watch.state)).toEqual(['connected', 'connected']);
		const vanishedAt = performance.now();
		await client.closePage();
		await expectInactiveWithinBound(watched, vanishedAt);
	});

	it('keeps a receive transport whose media never reached it open while its browser lives, and closes it with `inactive` once SIGKILLed (WebRtcServer)', async () => {
		// The worker only probes such a transport (bandwidth probation, with RTCP of its own); a live
		// Chromium answers the probes, a vanished one does not.
		const sender = await launchChromiumClient(sfu.router, {
			appData: { userId: 'sender' },
			transports: 'send',
			webRtcServer: sfu.webRtcServer,
		});
		await Promise.all(sender.producers.map((producer) => producer.pause()));
		const watched: Watched[] = [];
		const receiver = await launchChromiumClient(sfu.router, {
			appData: { userId: 'receiver' },
			transports: 'recv',
			consume: sender.producers,
			webRtcServer: sfu.webRtcServer,
			onTransport: (transport) => {
				watched.push(watchAndProbe(transport));
			},
		});
		await receiver.waitForConnected({ directions: ['recv'] });
		await new Promise((resolve) => setTimeout(resolve, 4 * T));
		const [stats] = await receiver.transport('recv').getStats();
		console.info(`[liveness-chromium] recv transport with no media after ${4 * T} ms: ${JSON.stringify(stats)}`);
		expect(stats?.rtpBytesSent).toBe(0);
		expect(stats?.probationBytesSent).toBeGreaterThan(0);
		expect(watched.map((w) => w.watch.state)).toEqual(['connected']);
		const vanishedAt = performance.now();
		await receiver.kill();
		const { at, info } = await (watched[0] as Watched).closing;
		// Its client is quieter than one with media (it answers probes every few seconds), so it is
		// judged at the bound the liveness learned for it: at least T, at most MAX_BOUND_MS.
		const boundMs = Number(/\(bound (\d+) ms/.exec(info.detail ?? '')?.[1]);
		console.info(`[liveness-chromium] SIGKILLed: ${info.reason} after ${Math.round(at - vanishedAt)} ms (${info.detail})`);
		expect(info).toMatchObject({ reason: 'inactive', clean: false, closedByWatchdog: true });
		expect(boundMs).toBeGreaterThanOrEqual(T);
		expect(boundMs).toBeLessThanOrEqual(MAX_BOUND_MS);
		expect(info.detectionMs).toBeGreaterThanOrEqual(boundMs);
		expect(info.detectionMs).toBeLessThanOrEqual(boundMs + P);
		expect(at - vanishedAt).toBeLessThanOrEqual(boundMs + P + TEARDOWN_MS);
		expect(sfu.watchdog.snapshot()).toMatchObject({ closes: { inactive: 1 }, liveness: { tracked: 0, unjudged: 0 } });
	}, 120_000);

	it('closes both transports of a SIGKILLed browser (WebRtcServer) with `inactive` within inactivityTimeoutMs + one poll period', async () => {
		const { client, watched } = await launchWatched(true);
		await flow();
		expect(watched.map((w) => w.watch.state)).toEqual(['connected', 'connected']);
		const vanishedAt = performance.now();
		await client.kill();
		await expectInactiveWithinBound(watched, vanishedAt);
	});
});
