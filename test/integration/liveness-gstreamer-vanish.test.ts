// A GStreamer webrtcbin client sending audio (audiotestsrc → opusenc → rtpopuspay, a Producer on the
// server) that goes away, on its own port and on a WebRtcServer, under the default policy: SIGKILL
// (nothing at all is sent) and a hang-up (EOS into the pipeline, then NULL 300 ms later: no DTLS
// close_notify, so to the server it is a vanish too; measured with measure-hangup.ts, webrtcbin 1.22
// sends no RTCP BYE either, only the encoder's last RTP packet). Each transport is closed by the
// watchdog with `inactive`, and the median time from the ending to the close is at most 10 s for each
// ending and placement.
//
// On a worker that checks ICE consent itself (mediasoup 3.13.20+) the transports get
// `iceConsentTimeout: 0`: webrtcbin sends no consent checks, so the worker's default would drop even
// a live sender at 30 s (liveness-gstreamer-healthy shows it); here only the watchdog decides.
//
// The endings are staggered over a poll period by a seeded random draw (the seed is printed; set
// GST_VANISH_SEED to replay it).
import { describe, expect, it } from 'vitest';
import { type CloseInfo, DEFAULT_POLICY, type TransportWatch } from '../../src/index.js';
import {
	closeAllGstreamerClients,
	type GstreamerClient,
	startGstreamerClient,
	startSummary,
} from '../helpers/gstreamer/harness.js';
import { InboundTrace } from '../helpers/gstreamer/inbound-trace.js';
import { createTestTransport, hasWorkerConsent, mediasoup } from '../helpers/mediasoup.js';
import { useMediasoup } from '../helpers/mediasoup-fixture.js';
import { seededRandom } from '../helpers/seeded-random.js';

const PER_GROUP = 3;
/** Audio sent before the ending: the judge sees RTP every 20 ms and RTCP every few seconds. */
const SEND_FOR_MS = 10_000;
const P = DEFAULT_POLICY.liveness.pollIntervalMs;
const TARGET_MEDIAN_MS = 10_000;
/** Timer lateness on a shared 2-core machine and the ending reaching the child. */
const SLACK_MS = 500;
/** No ending may take longer than this to be seen (the longest bound a sender can have, 60 s, is far beyond). */
const CLOSE_WITHIN_MS = 40_000;

const seed = Number(process.env.GST_VANISH_SEED ?? Math.floor(Math.random() * 2 ** 31));

const sfu = useMediasoup({
	webRtcServer: true,
	watchdog: {}, // the default policy
	closeClients: [closeAllGstreamerClients],
});

type Ending = 'SIGKILL' | 'hang-up';

interface Sender {
	name: string;
	ending: Ending;
	onServer: boolean;
	client: GstreamerClient;
	watch: TransportWatch;
	trace: InboundTrace;
	closing: Promise<{ at: number; info: CloseInfo }>;
	endedAt?: number;
}

function median(values: number[]): number {
	const sorted = [...values].sort((a, b) => a - b);
	const mid = Math.floor(sorted.length / 2);
	return sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

describe(`GStreamer webrtcbin senders that go away (mediasoup ${mediasoup.version})`, () => {
	it(`closes SIGKILLed and hung-up senders with inactive, median ≤ ${TARGET_MEDIAN_MS / 1000} s, own port and WebRtcServer`, async () => {
		console.log(`seed ${seed} (GST_VANISH_SEED=${seed} replays the staggering)`);
		const draw = seededRandom(seed);
		const start = async (ending: Ending, onServer: boolean, index: number): Promise<Sender> => {
			const name = `${ending} #${index + 1} (${onServer ? 'WebRtcServer' : 'own port'})`;
			const client = await startGstreamerClient({
				kind: 'send',
				createTransport: () =>
					createTestTransport(sfu.router, {
						...(hasWorkerConsent ? { iceConsentTimeout: 0 } : {}),
						...(onServer ? { webRtcServer: sfu.webRtcServer } : {}),
					}),
			});
			const watch = sfu.watchdog.watch(client.transport, { worker: sfu.worker, userId: name });
			const closing = new Promise<{ at: number; info: CloseInfo }>((resolve) => {
				watch.on('close', (info) => resolve({ at: performance.now(), info }));
			});
			return { name, ending, onServer, client, watch, closing, trace: new InboundTrace(client.transport) };
		};
		const senders = await Promise.all(
			(['SIGKILL', 'hang-up'] as const).flatMap((ending) =>
				[false, true].flatMap((onServer) => Array.from({ length: PER_GROUP }, (_, i) => start(ending, onServer, i))),
			),
		);
		console.log(senders.map((s) => `${s.name}: ${startSummary(s.client)}`).join('\n'));

		await new Promise((resolve) => setTimeout(resolve, SEND_FOR_MS));
		for (const sender of senders) {
			expect(sender.watch.state, sender.name).toBe('connected');
			expect((await sender.client.state()).rtpPacketsSent, `${sender.name}: RTP sent`).toBeGreaterThan(100);
			expect(
				(await sender.client.transport.getStats())[0]?.rtpBytesReceived ?? 0,
				`${sender.name}: RTP at the server`,
			).toBeGreaterThan(0);
		}

		// Each ending at its own moment within one poll period.
		await Promise.all(
			senders.map(async (sender) => {
				await new Promise((resolve) => setTimeout(resolve, Math.floor(draw() * P)));
				sender.endedAt = performance.now();
				if (sender.ending === 'SIGKILL') sender.client.kill();
				else await sender.client.hangup();
			}),
		);

		let timer: NodeJS.Timeout | undefined;
		const late = new Promise<never>((_, reject) => {
			timer = setTimeout(() => {
				const open = senders
					.filter((s) => !s.client.transport.closed)
					.map((s) => `${s.name}: ${s.watch.state}; ${s.trace.summary()}`);
				reject(new Error(`not all closed ${CLOSE_WITHIN_MS} ms after the endings:\n${open.join('\n')}`));
			}, CLOSE_WITHIN_MS);
		});
		const closes = await Promise.race([Promise.all(senders.map((s) => s.closing)), late]).finally(() => clearTimeout(timer));
		for (const sender of senders) sender.trace.stop();

		const rows = senders.map((sender, i) => {
			const { at, info } = closes[i] as { at: number; info: CloseInfo };
			return { sender, info, detectedMs: Math.round(at - (sender.endedAt ?? at)) };
		});
		console.log(
			rows
				.map(
					({ sender, info, detectedMs }) =>
						`${sender.name}: ${info.reason} ${detectedMs} ms after the ending (detectionMs ${info.detectionMs}): ${info.detail}; ` +
						`RTCP BYEs sent ${sender.client.clientEvents.filter((e) => e.type === 'rtcpbye').length}; ` +
						`${sender.trace.summary()}`,
				)
				.join('\n'),
		);
		for (const { sender, info, detectedMs } of rows) {
			expect(info.reason, `${sender.name}: ${info.detail}`).toBe('inactive');
			expect(info.closedByWatchdog, sender.name).toBe(true);
			const bound = Number(/bound (\d+) ms/.exec(info.detail ?? '')?.[1]);
			expect(bound, `${sender.name}: bound in '${info.detail}'`).toBeGreaterThan(0);
			expect(detectedMs, `${sender.name}: ${info.detail}`).toBeLessThanOrEqual(bound + P + SLACK_MS);
		}
		const medians: string[] = [];
		for (const ending of ['SIGKILL', 'hang-up'] as const) {
			for (const onServer of [false, true]) {
				const group = rows.filter((r) => r.sender.ending === ending && r.sender.onServer === onServer).map((r) => r.detectedMs);
				const label = `${ending} (${onServer ? 'WebRtcServer' : 'own port'})`;
				medians.push(`${label}: median ${median(group)} ms, max ${Math.max(...group)} ms of [${group.join(', ')}]`);
				expect(median(group), label).toBeLessThanOrEqual(TARGET_MEDIAN_MS);
			}
		}
		console.log(medians.join('\n'));
		expect(sfu.watchdog.snapshot().closes).toEqual({ inactive: senders.length });
	}, 120_000);
});
