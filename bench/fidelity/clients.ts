// The four real clients of the fidelity benchmark, each through its test harness, behind one shape:
// open a client of a transport kind (connected, and muted for 'muted'), SIGKILL it later. The
// server transport is handed to `onTransport` as early as the harness allows (at its creation for
// Chromium, Firefox and werift; once connected for GStreamer, whose harness may retry on a fresh one).
import type { types } from 'mediasoup';
import { type ChromiumClient, closeAllChromiumClients, launchChromiumClient } from '../../test/helpers/chromium/harness.js';
import { type FirefoxClients, launchFirefoxClients } from '../../test/helpers/firefox/harness.js';
import { closeAllGstreamerClients, startGstreamerClient } from '../../test/helpers/gstreamer/harness.js';
import {
	createTestTransport,
	hasWorkerConsent,
	type Router,
	untilRtpReceived,
	type WebRtcTransport,
} from '../../test/helpers/mediasoup.js';
import { closeAllWeriftClients, startWeriftClient } from '../../test/helpers/werift/harness.js';
import { type ClientName, KINDS, type Kind } from './results.js';

/** A started client: its server transport is connected. */
export interface OpenedClient {
	readonly transport: WebRtcTransport;
	/**
	 * SIGKILL: nothing more reaches the server. Resolves with when the kill was issued
	 * (performance.now()); clients sharing a process share the kill and its time.
	 */
	readonly vanish: () => Promise<number>;
}

export interface ClientDriver {
	readonly client: ClientName;
	readonly kinds: readonly Kind[];
	/** How many clients of this driver may start at once. */
	readonly startConcurrency: number;
	/**
	 * Starts a client of `kind`. `watched` false: mediasoup alone; on a consent-checking worker the
	 * transport keeps the worker's default consent check (watched GStreamer transports get
	 * `iceConsentTimeout: 0`, as docs/liveness.md advises for a client that sends no consent).
	 */
	open(kind: Kind, watched: boolean, onTransport: (transport: WebRtcTransport) => void): Promise<OpenedClient>;
	/** Closes whatever this driver started. */
	close(): Promise<void>;
}

/** Where the clients' transports live. */
export interface ServerSide {
	readonly router: Router;
	/** The producer a receive-only client consumes: it never sends. */
	readonly silent: types.Producer;
}

/** A producer that never sends (a DirectTransport nobody feeds), for receive-only clients to consume. */
export async function createSilentProducer(router: Router): Promise<types.Producer> {
	const direct = await router.createDirectTransport();
	return direct.produce({
		kind: 'audio',
		rtpParameters: {
			codecs: [{ mimeType: 'audio/opus', payloadType: 100, clockRate: 48_000, channels: 2, parameters: {}, rtcpFeedback: [] }],
			headerExtensions: [],
			encodings: [{ ssrc: 33_333_333 }],
			rtcp: { cname: 'silent' },
		},
	});
}

/** A vanish() for `kill`: issues it once, and resolves with when it was issued. */
function killed(kill: () => Promise<unknown>): () => Promise<number> {
	let issued: Promise<number> | undefined;
	return () => {
		issued ??= (async () => {
			const at = performance.now();
			await kill();
			return at;
		})();
		return issued;
	};
}

const CONNECT_TIMEOUT_MS = 30_000;

/** Chromium (mediasoup-client), one browser per transport. */
export function chromiumDriver(side: ServerSide): ClientDriver {
	return {
		client: 'Chromium',
		kinds: KINDS,
		startConcurrency: 4,
		async open(kind, _watched, onTransport) {
			let client: ChromiumClient | undefined;
			try {
				const sends = kind !== 'receive-only';
				client = await launchChromiumClient(side.router, {
					transports: sends ? 'send' : 'recv',
					produce: kind === 'sending media' || kind === 'muted',
					media: { audio: true, video: false, zeroRtpOnPause: kind === 'muted' },
					data: kind === 'DataChannel only',
					...(sends ? {} : { consume: [side.silent] }),
					onTransport: (transport) => onTransport(transport),
				});
				await client.waitForConnected({ timeoutMs: CONNECT_TIMEOUT_MS });
				const transport = client.transports[0] as WebRtcTransport;
				if (kind === 'muted') {
					await untilRtpReceived(transport);
					await client.pauseProducerInPage((client.producers[0] as types.Producer).id);
				}
				return { transport, vanish: killed(client.kill.bind(client)) };
			} catch (error) {
				await client?.close().catch(() => undefined);
				throw error;
			}
		},
		close: closeAllChromiumClients,
	};
}

/**
 * Firefox ESR (mediasoup-client's Firefox120 handler), one tab per transport in one Firefox per
 * driver (so one kill ends them all). `address`: the non-loopback address the router's transports
 * listen on (a network namespace's, test/helpers/netns.ts).
 */
export function firefoxDriver(side: ServerSide, address: string): ClientDriver {
	let firefox: Promise<FirefoxClients> | undefined;
	let kill: (() => Promise<number>) | undefined;
	return {
		client: 'Firefox ESR',
		kinds: KINDS,
		startConcurrency: 1,
		async open(kind, _watched, onTransport) {
			firefox ??= launchFirefoxClients();
			const browser = await firefox;
			const sends = kind !== 'receive-only';
			const client = await browser.open(side.router, {
				address,
				direction: sends ? 'send' : 'recv',
				...(kind === 'sending media' || kind === 'muted' ? { audio: { zeroRtpOnPause: kind === 'muted' } } : {}),
				...(kind === 'DataChannel only' ? { data: true } : {}),
				...(sends ? {} : { consume: [side.silent] }),
				onTransport: (transport) => onTransport(transport),
			});
			try {
				await client.waitForConnected(CONNECT_TIMEOUT_MS);
				if (kind === 'muted') {
					await untilRtpReceived(client.transport);
					await client.pauseProducerInPage((client.producers[0] as types.Producer).id);
				}
			} catch (error) {
				await client.close().catch(() => undefined);
				throw error;
			}
			return {
				transport: client.transport,
				vanish: () => {
					kill ??= killed(() => browser.kill());
					return kill();
				},
			};
		},
		async close() {
			const started = await firefox?.catch(() => undefined);
			await started?.close();
		},
	};
}

/** GStreamer webrtcbin (Python GI child), one process per transport. */
export function gstreamerDriver(side: ServerSide): ClientDriver {
	return {
		client: 'GStreamer webrtcbin',
		kinds: KINDS,
		startConcurrency: 4,
		async open(kind, watched, onTransport) {
			const client = await startGstreamerClient({
				kind: kind === 'DataChannel only' ? 'data' : kind === 'receive-only' ? 'recv' : 'send',
				createTransport: () =>
					createTestTransport(side.router, {
						enableSctp: kind === 'DataChannel only',
						...(watched && hasWorkerConsent ? { iceConsentTimeout: 0 } : {}),
					}),
				...(kind === 'receive-only' ? { consume: side.silent } : {}),
			});
			onTransport(client.transport);
			if (kind === 'muted') {
				try {
					await untilRtpReceived(client.transport);
					await client.mute(true);
				} catch (error) {
					await client.close().catch(() => undefined);
					throw error;
				}
			}
			return {
				transport: client.transport,
				vanish: killed(async () => client.kill()),
			};
		},
		close: closeAllGstreamerClients,
	};
}

/** werift (a Node child), DataChannel only, one process per transport. */
export function weriftDriver(side: ServerSide): ClientDriver {
	return {
		client: 'werift',
		kinds: ['DataChannel only'],
		startConcurrency: 2,
		async open(_kind, _watched, onTransport) {
			const transport = await createTestTransport(side.router, { enableSctp: true });
			onTransport(transport);
			try {
				const client = await startWeriftClient({ transport, echo: false });
				await client.waitForConnected(CONNECT_TIMEOUT_MS);
				return { transport, vanish: killed(async () => client.kill()) };
			} catch (error) {
				if (!transport.closed) transport.close();
				throw error;
			}
		},
		close: closeAllWeriftClients,
	};
}
