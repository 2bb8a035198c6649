// mediasoup 3.13.20+ checks ICE consent in the worker itself: `iceConsentTimeout` (seconds,
// default 30, 10–60) after the last STUN Binding request, ICE goes `'disconnected'` (the transport
// stays open). Real werift peers (consent check every 4–6 s, DataChannel only), on their own port
// and on a WebRtcServer, vanish (SIGKILL) with the worker's consent at 10 s and at 30 s and the
// default watchdog policy: which comes first, the worker's ICE `'disconnected'` or the watchdog's
// `inactive`, and when, counted from the kill. The figures are printed (issue 14's note).
//
// Runs in the mediasoup-3.27 vitest project only (vitest.config.ts leaves mediasoup-327-* out of
// mediasoup-3.12): mediasoup 3.12.16 has no `iceConsentTimeout`.
import { describe, expect, it } from 'vitest';
import type { CloseInfo, TransportWatch } from '../../src/index.js';
import { CADENCE_WINDOW_MS } from '../../src/liveness/judge.js';
import { createTestTransport, hasWorkerConsent, type WebRtcTransport, workerLabel } from '../helpers/mediasoup.js';
import { useMediasoup } from '../helpers/mediasoup-fixture.js';
import { closeAllWeriftClients, spawnWeriftClient, type WeriftClient } from '../helpers/werift/harness.js';

if (!hasWorkerConsent)
	throw new Error(`${workerLabel} has no worker-side ICE consent (3.13.20+): run this file in mediasoup-3.27`);

/** Sampling of the worker's inbound bytes, to date the client's last STUN request before the kill. */
const TRACE_MS = 200;
/** Timer lateness on a shared 2-core machine, the SIGKILL reaching the child, one worker timer tick. */
const SLACK_MS = 1_000;

const sfu = useMediasoup({ webRtcServer: true, watchdog: {}, closeClients: [closeAllWeriftClients] });

interface Peer {
	name: string;
	transport: WebRtcTransport;
	watch: TransportWatch;
	client: WeriftClient;
	/** performance.now() of every ICE state the worker reported, in order. */
	ice: Array<{ state: string; at: number }>;
	/** performance.now() of the watch's state changes. */
	states: Array<{ to: string; at: number }>;
	closing: Promise<{ at: number; info: CloseInfo }>;
	/** Last time the transport's bytesReceived moved (own port: the client's STUN requests and SCTP). */
	lastInboundAt: number;
	stopTrace(): void;
}

async function startPeer(name: string, iceConsentTimeout: number, onServer: boolean): Promise<Peer> {
	// Spawned before the watch: the spawn (tsx + werift, over 15 s on 2 busy cores) is the harness's cost, not the client's.
	const werift = await spawnWeriftClient();
	const transport = await createTestTransport(sfu.router, {
		enableSctp: true,
		iceConsentTimeout,
		...(onServer ? { webRtcServer: sfu.webRtcServer } : {}),
	});
	const ice: Peer['ice'] = [];
	transport.on('icestatechange', (state) => ice.push({ state, at: performance.now() }));
	const watch = sfu.watchdog.watch(transport, { worker: sfu.worker, userId: name });
	const states: Peer['states'] = [];
	watch.on('statechange', ({ to }) => states.push({ to, at: performance.now() }));
	const closing = new Promise<{ at: number; info: CloseInfo }>((resolve) => {
		watch.on('close', (info) => resolve({ at: performance.now(), info }));
	});
	const client = await werift.connect({ transport });
	await client.waitForConnected();
	const peer: Peer = {
		name,
		transport,
		watch,
		client,
		ice,
		states,
		closing,
		lastInboundAt: performance.now(),
		stopTrace: () => {},
	};
	let lastIn = -1;
	const timer = setInterval(() => {
		if (transport.closed) return;
		transport.getStats().then(
			([stats]) => {
				if (stats && stats.bytesReceived !== lastIn) {
					lastIn = stats.bytesReceived;
					peer.lastInboundAt = performance.now();
				}
			},
			() => {},
		);
	}, TRACE_MS);
	peer.stopTrace = () => clearInterval(timer);
	return peer;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const s = (ms: number | undefined): string => (ms === undefined ? 'never' : `${(ms / 1000).toFixed(1)} s`);

/** Kills every peer, waits for every watch to close, and returns each one's timeline (ms after the kill). */
async function vanish(peers: Peer[], within: number) {
	const killedAt = performance.now();
	const lastInbound = peers.map((p) => killedAt - p.lastInboundAt);
	for (const peer of peers) peer.client.kill();
	let timer: NodeJS.Timeout | undefined;
	const late = new Promise<never>((_, reject) => {
		timer = setTimeout(() => {
			const views = peers.map((p) => `${p.name}: ${p.watch.state}, ice ${JSON.stringify(p.ice.map((e) => e.state))}`);
			reject(new Error(`${workerLabel}: not all closed ${within} ms after SIGKILL:\n${views.join('\n')}`));
		}, within);
	});
	try {
		const closes = await Promise.race([Promise.all(peers.map((p) => p.closing)), late]);
		return peers.map((peer, i) => {
			peer.stopTrace();
			const close = closes[i] as { at: number; info: CloseInfo };
			const iceDown = peer.ice.find((e) => e.state === 'disconnected' && e.at >= killedAt);
			const watchDown = peer.states.find((e) => e.to === 'disconnected' && e.at >= killedAt);
			return {
				name: peer.name,
				lastInboundBeforeKillMs: Math.round(lastInbound[i] as number),
				iceDisconnectedMs: iceDown ? Math.round(iceDown.at - killedAt) : undefined,
				watchDisconnectedMs: watchDown ? Math.round(watchDown.at - killedAt) : undefined,
				closeMs: Math.round(close.at - killedAt),
				info: close.info,
			};
		});
	} finally {
		clearTimeout(timer);
	}
}

type Timeline = Awaited<ReturnType<typeof vanish>>[number];

function report(consent: number, t: Timeline): void {
	console.log(
		`[${workerLabel}] iceConsentTimeout ${consent} s, ${t.name}: killed ${s(t.lastInboundBeforeKillMs)} after its last inbound packet; ` +
			`worker ICE 'disconnected' ${s(t.iceDisconnectedMs)} after the kill, watch 'disconnected' ${s(t.watchDisconnectedMs)}, ` +
			`watch closed '${t.info.reason}' ${s(t.closeMs)} (detectionMs ${t.info.detectionMs}; ${t.info.detail ?? 'no detail'})`,
	);
}

/** Peers that stayed healthy long enough for the judge to learn their cadence, the worker's consent on. */
async function healthyPeers(consent: number): Promise<Peer[]> {
	const peers = await Promise.all([
		startPeer(`werift-own-port-consent-${consent}`, consent, false),
		startPeer(`werift-webrtcserver-consent-${consent}`, consent, true),
	]);
	await sleep(CADENCE_WINDOW_MS + 6_000);
	for (const peer of peers) {
		// A healthy werift (a consent check every 4–6 s) keeps the worker's consent, even at 10 s.
		expect(
			peer.ice.map((e) => e.state),
			`${workerLabel} ${peer.name}`,
		).not.toContain('disconnected');
		expect(peer.watch.state, `${workerLabel} ${peer.name}`).toBe('connected');
	}
	return peers;
}

/** iceConsentTimeout 10: the worker turns ICE `disconnected` first, within 10 s of the kill, and the watch closes then or later. */
function expectWorkerFirst(t: Timeline): void {
	const where = `${workerLabel} consent 10 ${t.name}`;
	expect(t.iceDisconnectedMs, where).toBeDefined();
	// 10 s after the last STUN request, which came at most one consent interval before the kill.
	expect(t.iceDisconnectedMs as number, where).toBeLessThanOrEqual(10_000 + SLACK_MS);
	expect(t.iceDisconnectedMs as number, where).toBeGreaterThanOrEqual(10_000 - 7_000);
	// The watch closes on (or after) the worker's verdict, never before it.
	expect(t.iceDisconnectedMs as number, where).toBeLessThanOrEqual(t.closeMs);
	expect(t.info.closedByWatchdog, where).toBe(true);
}

/** iceConsentTimeout 30: the watchdog closes `inactive` first, before the worker gives up consent. */
function expectWatchdogFirst(t: Timeline): void {
	const where = `${workerLabel} consent 30 ${t.name}`;
	expect(t.info.reason, where).toBe('inactive');
	expect(t.info.closedByWatchdog, where).toBe(true);
	// The worker's consent could not have expired yet: 30 s after the last request, which came at
	// most lastInboundBeforeKillMs before the kill.
	expect(t.closeMs, where).toBeLessThan(30_000 - t.lastInboundBeforeKillMs);
	expect(t.iceDisconnectedMs, where).toBeUndefined();
}

describe(`a werift peer that vanishes, the worker's own consent check on (${workerLabel})`, () => {
	// Both consent timeouts side by side (four peers, killed together): each case is a minute of
	// waiting for the judge to learn the cadence and for the verdicts, one after the other they
	// took 96 s of the suite.
	it('iceConsentTimeout 10: the worker turns ICE `disconnected` first, within 10 s of the kill, and the watch closes then or later; iceConsentTimeout 30: the watchdog closes `inactive` first, before the worker gives up consent', async () => {
		const [consent10, consent30] = await Promise.all([healthyPeers(10), healthyPeers(30)]);
		const [timelines10, timelines30] = await Promise.all([vanish(consent10, 70_000), vanish(consent30, 70_000)]);
		for (const t of timelines10) report(10, t);
		for (const t of timelines30) report(30, t);
		for (const t of timelines10) expectWorkerFirst(t);
		for (const t of timelines30) expectWatchdogFirst(t);
	}, 180_000);
});
