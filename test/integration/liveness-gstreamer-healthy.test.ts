// No false positives with GStreamer webrtcbin (Debian GStreamer 1.22, libnice 0.1.21), a client that
// sends no RFC 7675 consent checks: when idle only a STUN Binding Indication every 25 s and SCTP
// heartbeats ~30 s apart. Under the default policy, on its own port and on a WebRtcServer, four
// healthy kinds stay `connected` for over 60 s, never closed by the watchdog: DataChannel-only,
// receive-only with nothing consumed, receive-only consuming a producer that sends nothing, and a
// sender whose microphone is muted without telling the server (RTP stops, RTCP goes on). All eight
// run side by side in one window. The test measures each client's inbound gaps itself (every 500 ms)
// and prints them with any close, so a verdict can be held against what the client really did.
//
// A worker that checks ICE consent itself (mediasoup 3.13.20+, e.g. the 3.27.1 project) drops such a
// client at its iceConsentTimeout (30 s by default), whatever the watchdog does: there the healthy
// eight get `iceConsentTimeout: 0`, and eight more with mediasoup's default are run in the same window
// and must be closed, after ICE went 'disconnected' at the worker's consent expiry.
import { describe, expect, it } from 'vitest';
import type { CloseInfo, TransportWatch } from '../../src/index.js';
import {
	closeAllGstreamerClients,
	type GstreamerClient,
	startGstreamerClient,
	startSummary,
} from '../helpers/gstreamer/harness.js';
import { InboundTrace } from '../helpers/gstreamer/inbound-trace.js';
import { createSilentProducer } from '../helpers/gstreamer/silent-producer.js';
import { IDLE_LANE_SETUP_BUDGET_MS } from '../helpers/idle-lane.js';
import { createTestTransport, hasWorkerConsent, mediasoup, type WebRtcTransport } from '../helpers/mediasoup.js';
import { useMediasoup } from '../helpers/mediasoup-fixture.js';

const HEALTHY_FOR_MS = 65_000;
const CHECK_EVERY_MS = 5_000;
/** mediasoup's default iceConsentTimeout (seconds), where the worker checks consent. */
const DEFAULT_CONSENT_S = 30;
const CONSENT = hasWorkerConsent;

const sfu = useMediasoup({
	webRtcServer: true,
	watchdog: {}, // the default policy
	closeClients: [closeAllGstreamerClients],
});

type Kind = 'data' | 'recv nothing consumed' | 'recv silent producer' | 'muted sender';
const KINDS: Kind[] = ['data', 'recv nothing consumed', 'recv silent producer', 'muted sender'];

interface Peer {
	name: string;
	client: GstreamerClient;
	transport: WebRtcTransport;
	watch: TransportWatch;
	connectedAt: number;
	/**
	 * When the server's ICE first went 'connected' (libnice's nominating Binding request): its last
	 * Binding request came then or later, and mediasoup's consent timer runs from the last one.
	 */
	readonly iceConnectedAt: number | undefined;
	trace: InboundTrace;
	closed?: { at: number; info: CloseInfo };
	/** When the server saw ICE go 'disconnected' (mediasoup's consent expiry on 3.13.20+). */
	readonly iceDisconnectedAt: number | undefined;
}

describe(`healthy GStreamer webrtcbin clients under the default policy (mediasoup ${mediasoup.version})`, () => {
	it(
		`keeps DataChannel-only, receive-only and muted webrtcbin clients connected for ${HEALTHY_FOR_MS / 1000} s, own port and WebRtcServer` +
			(CONSENT ? ' (iceConsentTimeout: 0), and the worker drops the same clients at its default consent timeout' : ''),
		async () => {
			const silent = await createSilentProducer(sfu.router);
			const start = async (kind: Kind, onServer: boolean, iceConsentTimeout: number | undefined): Promise<Peer> => {
				const name = `${kind} (${onServer ? 'WebRtcServer' : 'own port'}${iceConsentTimeout === undefined ? '' : `, iceConsentTimeout ${iceConsentTimeout}`})`;
				let iceConnectedAt: number | undefined;
				let latest: WebRtcTransport | undefined;
				// Called again when the harness retries a client that failed to start: only the last counts.
				const createTransport = async () => {
					iceConnectedAt = undefined;
					const created = await createTestTransport(sfu.router, {
						enableSctp: kind === 'data',
						...(onServer ? { webRtcServer: sfu.webRtcServer } : {}),
						...(iceConsentTimeout === undefined ? {} : { iceConsentTimeout }),
					});
					latest = created;
					created.on('icestatechange', (state) => {
						if (created === latest && (state === 'connected' || state === 'completed')) iceConnectedAt ??= performance.now();
					});
					return created;
				};
				const client = await startGstreamerClient({
					kind: kind === 'data' ? 'data' : kind === 'muted sender' ? 'send' : 'recv',
					createTransport,
					...(kind === 'recv silent producer' ? { consume: silent.producer } : {}),
				});
				const { transport } = client;
				const connectedAt = performance.now();
				let iceDisconnectedAt: number | undefined;
				// Before the watch's own listener, so the time is taken before the watch can act on it.
				transport.on('icestatechange', (state) => {
					if (state === 'disconnected') iceDisconnectedAt ??= performance.now();
				});
				const watch = sfu.watchdog.watch(transport, { worker: sfu.worker, userId: name });
				const peer: Peer = {
					name,
					client,
					transport,
					watch,
					connectedAt,
					get iceConnectedAt() {
						return iceConnectedAt;
					},
					trace: new InboundTrace(transport),
					get iceDisconnectedAt() {
						return iceDisconnectedAt;
					},
				};
				watch.on('close', (info) => {
					peer.closed = { at: performance.now(), info };
				});
				return peer;
			};
			const startAll = (iceConsentTimeout: number | undefined): Promise<Peer[]> =>
				Promise.all(KINDS.flatMap((kind) => [false, true].map((onServer) => start(kind, onServer, iceConsentTimeout))));

			const healthy = await startAll(CONSENT ? 0 : undefined);
			const consentDropped = CONSENT ? await startAll(undefined) : [];
			// The muted senders send audio for 2 s first (the server's producer saw RTP), then mute.
			await new Promise((resolve) => setTimeout(resolve, 2_000));
			for (const peer of [...healthy, ...consentDropped]) {
				if (peer.client.kind !== 'send') continue;
				const { rtpPacketsSent } = await peer.client.mute(true);
				expect(rtpPacketsSent, `${peer.name}: RTP before the mute`).toBeGreaterThan(0);
				expect((await peer.transport.getStats())[0]?.rtpBytesReceived ?? 0, `${peer.name}: RTP at the server`).toBeGreaterThan(0);
			}
			for (const peer of healthy) peer.trace = restartTrace(peer);
			const timings = [...healthy, ...consentDropped].map((p) => `${p.name}: ${startSummary(p.client)}`);
			console.log(timings.join('\n'));

			const report = (peers: Peer[]): string =>
				peers
					.map((p) => {
						const close = p.closed
							? `closed ${((p.closed.at - p.connectedAt) / 1000).toFixed(1)} s after connecting: ${p.closed.info.reason}, ${p.closed.info.detail}`
							: `still ${p.watch.state}`;
						const ice =
							p.iceDisconnectedAt === undefined
								? ''
								: `, ICE disconnected ${((p.iceDisconnectedAt - p.connectedAt) / 1000).toFixed(1)} s after connecting`;
						return `${p.name}: ${close}${ice}; ${p.trace.summary()}`;
					})
					.join('\n');

			const started = performance.now();
			while (performance.now() - started < HEALTHY_FOR_MS) {
				await new Promise((resolve) => setTimeout(resolve, CHECK_EVERY_MS));
				// Fail at the first close of a healthy client, with every client's gaps so far.
				if (healthy.some((p) => p.closed)) break;
			}
			for (const peer of [...healthy, ...consentDropped]) peer.trace.stop();
			console.log(`after ${((performance.now() - started) / 1000).toFixed(1)} s:\n${report([...healthy, ...consentDropped])}`);

			expect(
				healthy.filter((p) => p.closed || p.watch.state !== 'connected').map((p) => p.name),
				`healthy clients closed or not connected:\n${report(healthy)}`,
			).toEqual([]);
			for (const peer of healthy) {
				expect(peer.client.exited, `${peer.name}: the client itself is still running`).toBe(false);
				expect((await peer.client.state()).connectionState, peer.name).toBe('connected');
			}
			// Every close the watchdog counted is one of the consent-dropped clients.
			const closes = Object.values(sfu.watchdog.snapshot().closes).reduce((sum, n) => sum + (n ?? 0), 0);
			expect(closes).toBe(consentDropped.filter((p) => p.closed).length);

			// mediasoup's own consent check: ICE 'disconnected' about DEFAULT_CONSENT_S after the last
			// Binding request (libnice's connectivity checks, from its nominating one, when the server's ICE
			// went 'connected'; DTLS comes after it, up to seconds later on a busy machine, so the time the
			// client reported itself connected is no lower bound), then the watch closes.
			for (const peer of consentDropped) {
				const at = `${peer.name}:\n${report([peer])}`;
				expect(peer.iceDisconnectedAt, at).toBeDefined();
				expect(peer.iceConnectedAt, at).toBeDefined();
				const consentLastedS = ((peer.iceDisconnectedAt ?? 0) - (peer.iceConnectedAt ?? 0)) / 1000;
				expect(consentLastedS, `${at}\n(from the server's ICE 'connected')`).toBeGreaterThanOrEqual(DEFAULT_CONSENT_S - 1);
				expect(peer.closed, at).toBeDefined();
				expect(peer.closed?.info.closedByWatchdog, at).toBe(true);
				// The close says that mediasoup's consent check decided, not the watchdog's liveness.
				expect(peer.closed?.info.reason, at).toBe('ice-disconnected');
				expect(peer.closed?.info.detail, at).toMatch(/consent/);
				expect(peer.closed?.at ?? 0, `${at}\n(closed before the worker's consent expired)`).toBeGreaterThanOrEqual(
					peer.iceDisconnectedAt ?? Number.POSITIVE_INFINITY,
				);
			}
		},
		IDLE_LANE_SETUP_BUDGET_MS + HEALTHY_FOR_MS + 20_000, // 20 s for the checks after the window
	);
});

/** A fresh trace from now (after the senders' 2 s of audio and the mute), replacing the first. */
function restartTrace(peer: Peer): InboundTrace {
	peer.trace.stop();
	return new InboundTrace(peer.transport);
}
