// The server side of the Firefox tests: a network namespace of the test's own (netns.ts), a real
// mediasoup worker inside it (created through createTestWorker with the namespace's wrapper), a
// router, a WebRtcServer on the namespace's veth address and a watchdog, fresh for every test; and
// a probe that records what the server sees of one transport while the watchdog judges it.
import { afterEach, beforeEach } from 'vitest';
import { createWatchdog, DEFAULT_POLICY, type Watchdog, type WatchdogPolicyOptions } from '../../../src/index.js';
import { carriesMedia, readSample, TransportJudge } from '../../../src/liveness/judge.js';
import {
	closeWorker,
	createTestRouter,
	createTestWorker,
	type Producer,
	type Router,
	type WebRtcServer,
	type WebRtcTransport,
	type Worker,
} from '../mediasoup.js';
import { createTestNetns, type TestNetns } from '../netns.js';
import { closeAllFirefoxClients } from './harness.js';

export interface FirefoxSfu {
	readonly netns: TestNetns;
	readonly worker: Worker;
	readonly router: Router;
	/** On the namespace's veth address, UDP and TCP. */
	readonly webRtcServer: WebRtcServer;
	readonly watchdog: Watchdog;
}

/**
 * Registers beforeEach (namespace, worker in it, router, WebRtcServer, watchdog with `policy`) and
 * afterEach (watchdog stop, every Firefox closed, worker closed, namespace removed). Read the
 * fields inside tests only.
 */
export function useFirefoxSfu(policy: WatchdogPolicyOptions = {}): Readonly<FirefoxSfu> {
	let current: Partial<FirefoxSfu> = {};
	beforeEach(async () => {
		const netns = await createTestNetns();
		current = { netns };
		const worker = await createTestWorker({}, { binary: (bin) => netns.workerBinary(bin) });
		current = { netns, worker };
		const router = await createTestRouter(worker);
		const webRtcServer = await worker.createWebRtcServer({
			listenInfos: [
				{ protocol: 'udp', ip: netns.address },
				{ protocol: 'tcp', ip: netns.address },
			],
		});
		current = { netns, worker, router, webRtcServer, watchdog: createWatchdog(policy) };
	});
	afterEach(async () => {
		const { netns, worker, watchdog } = current;
		current = {};
		watchdog?.stop();
		const errors: unknown[] = [];
		await closeAllFirefoxClients().catch((error: unknown) => errors.push(error));
		if (worker) await closeWorker(worker).catch((error: unknown) => errors.push(error));
		if (netns) await netns.remove().catch((error: unknown) => errors.push(error));
		if (errors.length > 0) throw new AggregateError(errors, 'tearing down the Firefox test server failed');
	});
	const get = <K extends keyof FirefoxSfu>(key: K): FirefoxSfu[K] => {
		const value = current[key];
		if (!value) throw new Error(`no ${key}: useFirefoxSfu() gives one only inside a test`);
		return value;
	};
	return {
		get netns() {
			return get('netns');
		},
		get worker() {
			return get('worker');
		},
		get router() {
			return get('router');
		},
		get webRtcServer() {
			return get('webRtcServer');
		},
		get watchdog() {
			return get('watchdog');
		},
	};
}

/**
 * A producer that sends nothing, for a receive-only Firefox client to consume (a silent room): an
 * Opus producer on a DirectTransport of `router`, nobody sending on it.
 */
export async function createDirectSilentProducer(router: Router, ssrc: number): Promise<Producer> {
	const transport = await router.createDirectTransport();
	return transport.produce({
		kind: 'audio',
		rtpParameters: {
			codecs: [{ mimeType: 'audio/opus', payloadType: 100, clockRate: 48_000, channels: 2 }],
			encodings: [{ ssrc }],
		},
	});
}

/** What a TransportProbe saw, times in ms relative to `from`. */
export interface ProbeReport {
	/** Growths of bytesReceived seen (each probe tick that saw one). */
	inboundGrowths: number;
	/** Longest time between two growths of bytesReceived (from `from`, until `until`). */
	largestInboundGapMs: number;
	/** The same, for bytesSent minus RTP bytes sent (the worker's replies: consent responses, RTCP, SCTP). */
	largestReplyGapMs: number;
	/** Median time between growths of bytesReceived. */
	medianInboundGapMs: number | null;
	/**
	 * The bound the watchdog's judge (src/liveness/judge.ts) arrives at for these samples, fed at
	 * the default poll period by a shadow judge of the test's own: what the transport taught it.
	 */
	shadowBoundMs: number;
	/** Whether the shadow judge counted the transport's cadence as shown. */
	cadenceShown: boolean;
}

export interface TransportProbe {
	/**
	 * The last sign of life at or before `before`: bytesReceived growing, or, on a transport that
	 * never carried RTP, the worker's replies growing (on a WebRtcServer consent requests are not
	 * counted in bytesReceived, but their responses are in bytesSent).
	 */
	lastSignAt(before: number): number;
	/** Stops probing and reports from `from` (performance.now()) to now or the last sample. */
	stop(from: number): ProbeReport;
}

/**
 * Reads `transport.getStats()` every `everyMs` (default 250) for the inbound gaps, and every poll
 * period of the default policy for a shadow judge. Independent of the watchdog.
 */
export function probeTransport(transport: WebRtcTransport, everyMs = 250): TransportProbe {
	const inbound: number[] = [];
	const replies: number[] = [];
	let lastIn: number | undefined;
	let lastReply: number | undefined;
	const startedAt = performance.now();
	let stopped = false;
	let carriedRtp = false;
	const judge = new TransportJudge(DEFAULT_POLICY.inactivityTimeoutMs, performance.now(), transport.sctpParameters !== undefined);
	let nextJudgeAt = performance.now();
	let busy = false;
	const tick = async (): Promise<void> => {
		if (busy || transport.closed) return;
		busy = true;
		const sentAt = performance.now();
		try {
			const stats = await transport.getStats();
			const first = stats[0];
			if (!first) return;
			const reply = first.bytesSent - (first.rtpBytesSent ?? 0) - (first.rtxBytesSent ?? 0) - (first.probationBytesSent ?? 0);
			if (lastIn !== undefined && first.bytesReceived !== lastIn) {
				inbound.push(sentAt);
			}
			if (lastReply !== undefined && reply !== lastReply) replies.push(sentAt);
			if ((first.rtpBytesReceived ?? 0) + (first.rtpBytesSent ?? 0) > 0) carriedRtp = true;
			lastIn = first.bytesReceived;
			lastReply = reply;
			if (sentAt >= nextJudgeAt) {
				nextJudgeAt = sentAt + DEFAULT_POLICY.liveness.pollIntervalMs;
				const sample = readSample(stats, sentAt);
				if (sample && judge.observe(sample).kind === 'check-media') {
					judge.mediaChecked(carriesMedia(await transport.dump()) ?? true);
				}
			}
		} catch {
			// Closed meanwhile.
		} finally {
			busy = false;
		}
	};
	const timer = setInterval(() => void tick(), everyMs);
	void tick();
	return {
		lastSignAt(before) {
			const signs = [...inbound, ...(carriedRtp ? [] : replies)].filter((t) => t <= before);
			return Math.max(startedAt, ...signs);
		},
		stop(from) {
			if (!stopped) clearInterval(timer);
			stopped = true;
			const until = performance.now();
			const gaps = (times: number[]): number[] => {
				const points = [from, ...times.filter((t) => t > from), until];
				return points.slice(1).map((t, i) => t - (points[i] as number));
			};
			const inboundGaps = gaps(inbound);
			const between = inboundGaps.slice(1, -1).sort((a, b) => a - b);
			return {
				inboundGrowths: inbound.filter((t) => t > from).length,
				largestInboundGapMs: Math.round(Math.max(...inboundGaps)),
				largestReplyGapMs: Math.round(Math.max(...gaps(replies))),
				medianInboundGapMs: between.length > 0 ? Math.round(between[Math.floor(between.length / 2)] as number) : null,
				shadowBoundMs: Math.round(judge.boundMs),
				cadenceShown: judge.cadenceShown,
			};
		},
	};
}
