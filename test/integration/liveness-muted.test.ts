// A healthy Chromium user who mutes the microphone: mediasoup-client's `zeroRtpOnPause: true`
// stops the paused track's RTP (3.18 sets its transceiver 'inactive'), so the page sends no RTP
// at all; the paused audio producer is the only producer on the send transport (camera off).
// The app pauses the server producer too, as it would on a mute signal (both orders), or, in one
// more case on a WebRtcServer (where consent checks are invisible), never tells the server. The
// user is still there: the send transport must stay `connected` under the default policy, on its
// own port and on a WebRtcServer.
// The test samples the transport's counters every 500 ms for 60 s after the mute and prints the
// longest gap between growths of bytesReceived, the close (if any) and the producer's dump.
import { describe, expect, it } from 'vitest';
import type { CloseInfo, TransportWatch } from '../../src/index.js';
import { type ChromiumClient, closeAllChromiumClients, launchChromiumClient } from '../helpers/chromium/harness.js';
import { IDLE_LANE_SETUP_BUDGET_MS } from '../helpers/idle-lane.js';
import type { WebRtcTransport } from '../helpers/mediasoup.js';
import { useMediasoup } from '../helpers/mediasoup-fixture.js';

const MUTED_FOR_MS = 60_000;
/** After the clients started: 3 s of audio, 1 s of sampling before the mute, the report. */
const AROUND_WINDOW_MS = 15_000;
const SAMPLE_MS = 500;

const sfu = useMediasoup({
	webRtcServer: true,
	watchdog: {}, // the default policy
	closeClients: [closeAllChromiumClients],
});

type Order = 'page then server' | 'server then page' | 'page only';

interface Sample {
	/** performance.now() when sampled; made relative to the mute's start for the report. */
	t: number;
	state: string;
	stats?: { bytesReceived: number; bytesSent: number; rtpBytesReceived: number };
	/** transport.dump().producerIds and the producer's own dump().paused. */
	dump?: { producerIds: string[]; producerPaused: boolean };
}

interface Case {
	name: string;
	client: ChromiumClient;
	transport: WebRtcTransport;
	watch: TransportWatch;
	order: Order;
	mutedAt: number;
	samples: Sample[];
	closed?: { at: number; info: CloseInfo };
}

type Measured = Sample & { stats: NonNullable<Sample['stats']> };

/**
 * The inbound growths after the mute and the gaps between them, counted from the last sample that
 * saw RTP arrive (where the silence of the muted producer begins) to the last sample (or the close).
 */
function growthGaps(samples: Sample[]): {
	lastRtpAtMs: number;
	firstGapMs: number | undefined;
	largestGapMs: number;
	growths: Array<{ t: number; delta: number }>;
} {
	const measured = samples.filter((s): s is Measured => s.stats !== undefined);
	let from = 0;
	for (let i = 1; i < measured.length; i++) {
		if ((measured[i] as Measured).stats.rtpBytesReceived !== (measured[i - 1] as Measured).stats.rtpBytesReceived) from = i;
	}
	const lastRtpAtMs = (measured[from] as Measured).t;
	const growths: Array<{ t: number; delta: number }> = [];
	let largestGapMs = 0;
	let lastGrowthT = lastRtpAtMs;
	for (let i = from + 1; i < measured.length; i++) {
		const [prev, cur] = [measured[i - 1], measured[i]] as [Measured, Measured];
		if (cur.stats.bytesReceived !== prev.stats.bytesReceived) {
			growths.push({ t: cur.t, delta: cur.stats.bytesReceived - prev.stats.bytesReceived });
			largestGapMs = Math.max(largestGapMs, cur.t - lastGrowthT);
			lastGrowthT = cur.t;
		}
	}
	const end = measured.at(-1)?.t ?? lastGrowthT;
	const firstGapMs = growths[0] ? growths[0].t - lastRtpAtMs : undefined;
	return { lastRtpAtMs, firstGapMs, largestGapMs: Math.max(largestGapMs, end - lastGrowthT), growths };
}

describe('a Chromium user who muted the microphone with zeroRtpOnPause (audio only, camera off)', () => {
	it(
		'keeps the send transport connected for 60 s after the mute, on its own port and on a WebRtcServer, whether or not the app pauses the server producer',
		async () => {
			const cases: Case[] = [];
			const orders: Array<[onServer: boolean, order: Order]> = [
				[false, 'page then server'],
				[false, 'server then page'],
				[true, 'page then server'],
				[true, 'server then page'],
				[true, 'page only'],
			];
			for (const [onServer, order] of orders) {
				const name = `${onServer ? 'WebRtcServer' : 'own port'}, ${order}`;
				let watch: TransportWatch | undefined;
				const client = await launchChromiumClient(sfu.router, {
					transports: 'send',
					media: { audio: true, video: false, zeroRtpOnPause: true },
					...(onServer ? { webRtcServer: sfu.webRtcServer } : {}),
					onTransport: (t) => {
						watch = sfu.watchdog.watch(t, { worker: sfu.worker, userId: name });
					},
				});
				await client.waitForConnected();
				if (!watch) throw new Error('no watch');
				expect(client.producers.map((p) => p.kind)).toEqual(['audio']);
				const entry: Case = { name, client, transport: client.transport('send'), watch, order, mutedAt: 0, samples: [] };
				watch.on('close', (info) => {
					entry.closed = { at: performance.now(), info };
				});
				cases.push(entry);
			}

			// Audio flows first, so the transport has carried RTP.
			await new Promise((resolve) => setTimeout(resolve, 3_000));
			for (const c of cases) {
				const [stats] = await c.transport.getStats();
				expect(stats?.rtpBytesReceived, c.name).toBeGreaterThan(0);
				expect(c.watch.state, c.name).toBe('connected');
			}

			const sample = async (c: Case): Promise<void> => {
				const s: Sample = { t: performance.now(), state: c.watch.state };
				if (!c.transport.closed) {
					try {
						const producer = c.client.producers[0] as (typeof c.client.producers)[number];
						const [[stats], dump, producerDump] = await Promise.all([
							c.transport.getStats(),
							c.transport.dump(),
							producer.dump(),
						]);
						if (stats) {
							s.stats = {
								bytesReceived: stats.bytesReceived,
								bytesSent: stats.bytesSent,
								rtpBytesReceived: stats.rtpBytesReceived ?? 0,
							};
						}
						s.dump = { producerIds: dump.producerIds, producerPaused: producerDump.paused };
					} catch {
						// closed meanwhile
					}
				}
				c.samples.push(s);
			};
			// Sampling starts 1 s before the mute, so the last RTP packet is seen too.
			let muteStartedAt = 0;
			let sampleUntil = Number.POSITIVE_INFINITY;
			const sampling = (async () => {
				while (performance.now() < sampleUntil) {
					const tickAt = performance.now();
					await Promise.all(cases.map(sample));
					await new Promise((resolve) => setTimeout(resolve, Math.max(0, SAMPLE_MS - (performance.now() - tickAt))));
				}
			})();
			await new Promise((resolve) => setTimeout(resolve, 1_000));

			// Mute, all clients at once: mediasoup-client pause (its RTP stops) and the server producer's
			// pause, in both orders.
			muteStartedAt = performance.now();
			await Promise.all(
				cases.map(async (c) => {
					const producer = c.client.producers[0] as (typeof c.client.producers)[number];
					if (c.order === 'page only') {
						await c.client.pauseProducerInPage(producer.id);
					} else if (c.order === 'page then server') {
						await c.client.pauseProducerInPage(producer.id);
						await producer.pause();
					} else {
						await producer.pause();
						await c.client.pauseProducerInPage(producer.id);
					}
					c.mutedAt = performance.now();
				}),
			);
			sampleUntil = Math.max(...cases.map((c) => c.mutedAt)) + MUTED_FOR_MS;
			await sampling;

			const report = cases.map((c) => {
				const samples = c.samples.map((s) => ({ ...s, t: Math.round(s.t - muteStartedAt) }));
				const { lastRtpAtMs, firstGapMs, largestGapMs, growths } = growthGaps(samples);
				const after = samples.filter((s): s is Measured => s.stats !== undefined && s.t >= lastRtpAtMs);
				const first = after[0]?.stats;
				const last = after.at(-1)?.stats;
				const lastDump = samples.filter((s) => s.dump).at(-1);
				return {
					case: c.name,
					muteTookMs: Math.round(c.mutedAt - muteStartedAt),
					lastRtpSeenAtMs: lastRtpAtMs,
					firstInboundGapMs: firstGapMs,
					largestInboundGapMs: largestGapMs,
					inboundGrowths: growths.length,
					growthSizes: [...new Set(growths.map((g) => g.delta))],
					growthsAtMs: growths.map((g) => g.t),
					afterLastRtp:
						first && last
							? {
									bytesReceived: last.bytesReceived - first.bytesReceived,
									bytesSent: last.bytesSent - first.bytesSent,
									rtpBytesReceived: last.rtpBytesReceived - first.rtpBytesReceived,
								}
							: undefined,
					closed: c.closed
						? {
								reason: c.closed.info.reason,
								atMsAfterMuteStart: Math.round(c.closed.at - muteStartedAt),
								detectionMs: c.closed.info.detectionMs,
								detail: c.closed.info.detail,
								closedByWatchdog: c.closed.info.closedByWatchdog,
							}
						: undefined,
					lastDump: lastDump ? { atMsAfterMuteStart: lastDump.t, ...lastDump.dump } : undefined,
					state: c.watch.state,
				};
			});
			for (const line of report) console.log(`[liveness-muted] ${JSON.stringify(line)}`);
			console.log(`[liveness-muted] snapshot ${JSON.stringify(sfu.watchdog.snapshot())}`);

			// The mute did stop the RTP: none arrived after the page's pause completed.
			for (const line of report) expect(line.lastRtpSeenAtMs, line.case).toBeLessThanOrEqual(line.muteTookMs + SAMPLE_MS);
			// What the user expects: a muted user stays connected.
			const states = Object.fromEntries(cases.map((c) => [c.name, c.watch.state]));
			expect(states).toEqual(Object.fromEntries(cases.map((c) => [c.name, 'connected'])));
			expect(Object.fromEntries(cases.map((c) => [c.name, c.closed?.info.reason ?? null]))).toEqual(
				Object.fromEntries(cases.map((c) => [c.name, null])),
			);
		},
		IDLE_LANE_SETUP_BUDGET_MS + MUTED_FOR_MS + AROUND_WINDOW_MS,
	); // five Chromiums start one after the other
});
