// Liveness hints against the real worker, with Chromium pages that send real audio (SRTP).
// - Sibling: a page with a send and a receive transport (same user) is SIGKILLed; the first
//   transport judged gone hints the other, which is polled out of turn and closed at the judge's
//   pace, well within one round-robin period (pollIntervalMs 10 s here, a stand-in for a busy
//   worker's pace).
// - The lane is the real worker's: the transport's channel, with the pid from { worker }.
// - A page that mutes its microphone (zeroRtpOnPause, server producer left unpaused) is never closed.
// - mediasoup runs its RTP inactivity check (the producer score hint) only on simulcast producers
//   with more than one encoding (Producer.cpp, 3.12 and 3.27): an audio producer's score never
//   drops to 0 when its RTP stops, which this test also shows (docs/liveness.md, "Hints").
// - Producer score: a page sending simulcast video (two encodings, so the worker runs its RTP
//   inactivity check) that is SIGKILLed is polled out of turn as soon as the worker scores its
//   stream 0, and closed at the judge's pace; a page that stops its RTP (paused in the page,
//   zeroRtpOnPause) gets the same score 0 and the same poll, and stays connected: its consent
//   checks are signs of life.
// - Silence (the judge's own hint): with a poll period (3 s) that does not divide the bound (4 s), a
//   SIGKILLed page's transport is polled again when its bound ends, not a period later.
// Small policy values (inactivityTimeoutMs 4 s): the behaviour does not depend on the defaults.
import { describe, expect, it } from 'vitest';
import { type CloseInfo, createWatchdog, type TransportWatch } from '../../src/index.js';
import { closeAllChromiumClients, launchChromiumClient } from '../helpers/chromium/harness.js';
import { untilRtpReceived, type WebRtcTransport } from '../helpers/mediasoup.js';
import { useMediasoup } from '../helpers/mediasoup-fixture.js';
import { recordPolls } from '../helpers/watch-probes.js';

const POLL_MS = 10_000;
const TIMEOUT_MS = 4_000;

const sfu = useMediasoup({
	watchdog: { inactivityTimeoutMs: TIMEOUT_MS, liveness: { pollIntervalMs: POLL_MS } },
	closeClients: [closeAllChromiumClients],
});

interface Watched {
	transport: WebRtcTransport;
	watch: TransportWatch;
	/** performance.now() of each getStats() sent on the transport. */
	polls: number[];
	closed?: { at: number; info: CloseInfo };
}

function watchRecorded(transport: WebRtcTransport, userId: string, list: Watched[], watchdog = sfu.watchdog): void {
	const polls = recordPolls(transport);
	const entry: Watched = { transport, watch: watchdog.watch(transport, { worker: sfu.worker, userId }), polls };
	entry.watch.on('close', (info) => {
		entry.closed = { at: performance.now(), info };
	});
	list.push(entry);
}

describe('liveness hints with the real worker (Chromium sending audio, or simulcast video)', () => {
	it('a vanished page: the first transport judged gone polls its sibling out of turn; a muted page stays connected', async () => {
		const alice: Watched[] = [];
		const bob: Watched[] = [];
		const page = await launchChromiumClient(sfu.router, {
			transports: 'both',
			media: { audio: true, video: false },
			onTransport: (t) => watchRecorded(t, 'alice', alice),
		});
		await page.waitForConnected();
		const muted = await launchChromiumClient(sfu.router, {
			transports: 'send',
			media: { audio: true, video: false, zeroRtpOnPause: true },
			onTransport: (t) => watchRecorded(t, 'bob', bob),
		});
		await muted.waitForConnected();
		const zeroScores: number[] = [];
		for (const producer of [...page.producers, ...muted.producers]) {
			producer.observer.on('score', (scores) => {
				if (scores.some((s) => s.score === 0)) zeroScores.push(performance.now());
			});
		}
		await new Promise((resolve) => setTimeout(resolve, 2_500));
		for (const w of [...alice, ...bob]) expect(w.watch.state).toBe('connected');
		const [lane] = sfu.watchdog.snapshot().liveness.workers;
		expect(sfu.watchdog.snapshot().liveness.workers).toHaveLength(1);
		expect(lane).toMatchObject({ pid: sfu.worker.pid, tracked: 3 });

		await muted.pauseProducerInPage(muted.producers[0]?.id as string);
		const killedAt = performance.now();
		await page.kill();
		const first = await Promise.race(alice.map(async (w) => ({ w, info: await w.watch.closed })));
		expect(first.info.reason).toBe('inactive');
		const firstAt = first.w.closed?.at as number;
		const sibling = alice.find((w) => w !== first.w) as Watched;
		await new Promise((resolve) => setTimeout(resolve, 1_000));
		// The sibling was polled out of turn right after the first close (one free request), not at
		// its turn; what the judge then says is its own rules' business (a receive transport the
		// worker still sends RTP to may stay unjudged: docs/liveness.md).
		const hinted = sibling.polls.find((t) => t >= firstAt);
		expect(hinted).toBeDefined();
		expect((hinted as number) - firstAt).toBeLessThan(500);
		const after = sfu.watchdog.snapshot().liveness.workers[0];
		expect(after?.hints.sibling).toBe(1);
		expect(after?.hintPolls).toBeGreaterThanOrEqual(1);

		// The muted page is still there, 3 bounds after the pause.
		await new Promise((resolve) => setTimeout(resolve, Math.max(0, 3 * TIMEOUT_MS - (performance.now() - killedAt))));
		expect(bob[0]?.watch.state).toBe('connected');
		// No score 0 from audio producers: the worker's inactivity check is for simulcast only.
		expect(zeroScores).toEqual([]);
		console.log(
			JSON.stringify({
				firstClosedAfterKillMs: Math.round(firstAt - killedAt),
				siblingPolledAfterFirstCloseMs: Math.round((hinted as number) - firstAt),
				sibling: { state: sibling.watch.state, reason: sibling.closed?.info.reason },
				detectionMs: first.info.detectionMs,
				worker: sfu.watchdog.snapshot().liveness.workers[0],
			}),
		);
	});

	it("silence: a vanished page's transport is polled again when its bound ends, and closed then, not a period later", async () => {
		// Its own watchdog: polled every 3 s, judged at 4 s. The round-robin alone decides at the first
		// turn at or past the bound, 6 s after the last sign; the judge's own hint at 4 s.
		const watchdog = createWatchdog({ inactivityTimeoutMs: TIMEOUT_MS, liveness: { pollIntervalMs: 3_000 } });
		const carol: Watched[] = [];
		try {
			const page = await launchChromiumClient(sfu.router, {
				transports: 'send',
				media: { audio: true, video: false },
				onTransport: (transport) => {
					const entry: Watched = {
						transport,
						watch: watchdog.watch(transport, { worker: sfu.worker, userId: 'carol' }),
						polls: [],
					};
					entry.watch.on('close', (info) => {
						entry.closed = { at: performance.now(), info };
					});
					carol.push(entry);
				},
			});
			await page.waitForConnected();
			const [watched] = carol;
			if (!watched) expect.fail('no transport');
			await untilRtpReceived(watched.transport);
			// Two polls with audio moving, then the page is killed.
			await new Promise((resolve) => setTimeout(resolve, 6_500));
			expect(watched.watch.state).toBe('connected');
			const killedAt = performance.now();
			// The lane goes with its last transport: its silence hints are read while it is there.
			let silenceHints = 0;
			const sampler = setInterval(() => {
				silenceHints = Math.max(silenceHints, watchdog.snapshot().liveness.workers[0]?.hints.silence ?? 0);
			}, 50);
			await page.kill();
			const info = await watched.watch.closed;
			clearInterval(sampler);
			const closedAfterKillMs = (watched.closed?.at as number) - killedAt;
			console.log(
				JSON.stringify({ closedAfterKillMs: Math.round(closedAfterKillMs), detectionMs: info.detectionMs, silenceHints }),
			);
			expect(info.reason).toBe('inactive');
			// From the last sign (the poll that saw the last audio): the bound, plus the request's round
			// trip and a timer's lateness (one period later without the hint: 6 s).
			expect(info.detectionMs).toBeGreaterThanOrEqual(TIMEOUT_MS);
			expect(info.detectionMs).toBeLessThan(TIMEOUT_MS + 1_000);
			expect(silenceHints).toBeGreaterThanOrEqual(1);
			// From the kill: at most the 3 s the last sign may come after it, plus the 4 s bound.
			expect(closedAfterKillMs).toBeLessThan(3_000 + TIMEOUT_MS + 1_000);
			expect(watchdog.snapshot().liveness.tracked).toBe(0);
		} finally {
			watchdog.stop();
		}
	});

	it('producer score: a vanished simulcast page is polled when its stream scores 0 and closed at the bound; a page that stops its RTP is polled and stays connected', async () => {
		// Its own watchdog, polled every 30 s: without the hint, the round-robin would not come back
		// before the end of this test.
		const watchdog = createWatchdog({ inactivityTimeoutMs: TIMEOUT_MS, liveness: { pollIntervalMs: 30_000 } });
		const gone: Watched[] = [];
		const paused: Watched[] = [];
		try {
			const media = { audio: false, video: true, simulcast: true } as const;
			const goner = await launchChromiumClient(sfu.router, {
				transports: 'send',
				media,
				onTransport: (t) => watchRecorded(t, 'gina', gone, watchdog),
			});
			await goner.waitForConnected();
			const pauser = await launchChromiumClient(sfu.router, {
				transports: 'send',
				media: { ...media, zeroRtpOnPause: true },
				onTransport: (t) => watchRecorded(t, 'hugo', paused, watchdog),
			});
			await pauser.waitForConnected();
			const [goneWatch] = gone;
			const [pausedWatch] = paused;
			const [goneProducer] = goner.producers;
			const [pausedProducer] = pauser.producers;
			if (!goneWatch || !pausedWatch || !goneProducer || !pausedProducer) expect.fail('no transport or producer');
			for (const producer of [goneProducer, pausedProducer]) {
				expect(producer.type).toBe('simulcast');
				expect(producer.rtpParameters.encodings?.length).toBe(2);
			}
			await untilRtpReceived(goneWatch.transport);
			await untilRtpReceived(pausedWatch.transport);
			const zeroAt = new Map<WebRtcTransport, number>();
			const onZero = (watched: Watched) => (scores: Array<{ score: number }>) => {
				if (!zeroAt.has(watched.transport) && scores.some((entry) => entry.score === 0))
					zeroAt.set(watched.transport, performance.now());
			};
			goneProducer.observer.on('score', onZero(goneWatch));
			pausedProducer.observer.on('score', onZero(pausedWatch));
			// Both streams are live and scored above 0 before anything stops.
			expect(zeroAt.size).toBe(0);
			for (const w of [goneWatch, pausedWatch]) expect(w.watch.state).toBe('connected');
			// The lane goes with its last transport: its hint counts are read while it is there.
			let scoreHints = 0;
			const sampler = setInterval(() => {
				scoreHints = Math.max(scoreHints, watchdog.snapshot().liveness.workers[0]?.hints['producer-score'] ?? 0);
			}, 50);
			const stoppedAt = performance.now();
			await pauser.pauseProducerInPage(pausedProducer.id);
			const killedAt = performance.now();
			await goner.kill();
			const info = await goneWatch.watch.closed;
			const closedAt = goneWatch.closed?.at as number;
			// The paused page: three bounds after its RTP stopped, still there.
			await new Promise((resolve) => setTimeout(resolve, Math.max(0, 3 * TIMEOUT_MS - (performance.now() - stoppedAt))));
			clearInterval(sampler);
			const pollAfterZero = (w: Watched) => {
				const at = zeroAt.get(w.transport);
				const poll = at === undefined ? undefined : w.polls.find((t) => t >= at);
				return at === undefined || poll === undefined ? undefined : Math.round(poll - at);
			};
			const figures = {
				gone: {
					zeroAfterKillMs: Math.round((zeroAt.get(goneWatch.transport) ?? Number.NaN) - killedAt),
					polledAfterZeroMs: pollAfterZero(goneWatch),
					closedAfterZeroMs: Math.round(closedAt - (zeroAt.get(goneWatch.transport) ?? Number.NaN)),
					reason: info.reason,
					detectionMs: info.detectionMs,
				},
				paused: {
					zeroAfterPauseMs: Math.round((zeroAt.get(pausedWatch.transport) ?? Number.NaN) - stoppedAt),
					polledAfterZeroMs: pollAfterZero(pausedWatch),
					polls: pausedWatch.polls.length,
					state: pausedWatch.watch.state,
				},
				scoreHints,
			};
			console.log(JSON.stringify(figures));
			// Each stopped stream was scored 0 by the worker, and polled within 500 ms of it (the
			// round-robin's period is 30 s; a hinted poll waits at most HINT_MIN_GAP_MS after the last).
			expect(figures.gone.polledAfterZeroMs).toBeDefined();
			expect(figures.gone.polledAfterZeroMs as number).toBeLessThan(500);
			expect(figures.paused.polledAfterZeroMs).toBeDefined();
			expect(figures.paused.polledAfterZeroMs as number).toBeLessThan(500);
			expect(scoreHints).toBeGreaterThanOrEqual(2);
			// The vanished page: closed by the judge, its bound after the last sign, well before the
			// round-robin's next turn.
			expect(info.reason).toBe('inactive');
			expect(info.detectionMs).toBeGreaterThanOrEqual(TIMEOUT_MS);
			expect(closedAt - killedAt).toBeLessThan(15_000);
			// The paused page: the hint moved polls, the judge kept it (consent checks go on).
			expect(pausedWatch.watch.state).toBe('connected');
			expect(pausedWatch.closed).toBeUndefined();
		} finally {
			watchdog.stop();
		}
	});
});
