// Liveness per worker and hints, through a real watchdog on fake transports and fake timers: each
// worker (the transport's channel, as mediasoup sets it) has its own budget and pace; a producer's
// score at 0, a sibling judged gone or a silence whose bound ends before the next turn polls a
// transport out of turn, within the budget, and never closes a live client; a hint storm stays
// within the budget; a dead worker releases everything.
import { EventEmitter } from 'node:events';
import { describe, expect, it, vi } from 'vitest';
import type { CloseInfo, TransportWatch, Watchdog } from '../../src/index.js';
import { MIN_TICK_MS } from '../../src/liveness/scheduler.js';
import { busiestWindow } from '../helpers/busiest-window.js';
import { type FakeWebRtcTransport, FakeWorker } from '../helpers/fake-transport.js';
import { useFakeWatchdogs } from '../helpers/fake-watchdogs.js';

type Transport = FakeWebRtcTransport<{ userId: string }>;

const { setup, addInterval } = useFakeWatchdogs();

/** A fake worker whose transports carry one channel object, as mediasoup's do (one per worker). */
function workerWithChannel(): { worker: FakeWorker; transport(userId: string): Transport } {
	const worker = new FakeWorker();
	const router = worker.createRouter();
	const channel = {};
	return {
		worker,
		transport(userId) {
			const transport = router.createWebRtcTransport<{ userId: string }>({ appData: { userId } });
			// mediasoup's dump() (the judge asks it whether media is still there when RTP stops).
			const dump = async () => ({ id: transport.id, producerIds: ['p0'], consumerIds: [] });
			Object.assign(transport, { channel, dump });
			return transport;
		},
	};
}

function connect(watchdog: Watchdog, transport: Transport, worker?: FakeWorker): TransportWatch {
	const watch = watchdog.watch(transport, worker ? { worker } : {});
	transport.connectClient();
	expect(watch.state).toBe('connected');
	return watch;
}

/** A client that adds bytes (RTP when `media`) every `everyMs` until `stop()`. */
function client(transport: Transport, everyMs: number, media = false): { stop(): void } {
	const timer = setInterval(() => {
		transport.bytesReceived += 100;
		if (media) transport.counters.rtpBytesReceived += 100;
	}, everyMs);
	addInterval(timer);
	return { stop: () => clearInterval(timer) };
}

/** Records the time of every getStats() call of these transports, in one list and per transport. */
function recordCalls(transports: Transport[]): { all: number[]; of: Map<Transport, number[]> } {
	const all: number[] = [];
	const of = new Map<Transport, number[]>();
	for (const transport of transports) {
		const times: number[] = [];
		of.set(transport, times);
		const original = transport.getStats.bind(transport);
		transport.getStats = () => {
			times.push(performance.now());
			all.push(performance.now());
			return original();
		};
	}
	return { all, of };
}

/** A producer on `transport` (mediasoup emits observer 'newproducer'); `score(0)` is the worker's RTP inactivity check. */
function producerOn(transport: Transport): { score(value: number): void; close(): void; observer: EventEmitter } {
	const observer = new EventEmitter();
	const producer = { closed: false, observer };
	transport.observer.emit('newproducer', producer);
	return {
		observer,
		score: (value) => observer.emit('score', [{ encodingIdx: 0, ssrc: 1111, score: value }]),
		close: () => {
			producer.closed = true;
			observer.emit('close');
		},
	};
}

describe('a budget per worker', () => {
	it('gives each worker its own maxStatsRequestsPerSecond and pace, reported in snapshot().liveness.workers', async () => {
		const watchdog = setup({ liveness: { maxStatsRequestsPerSecond: 10, pollIntervalMs: 2_000 } });
		const a = workerWithChannel();
		const b = workerWithChannel();
		const onA = Array.from({ length: 40 }, (_, i) => a.transport(`a${i}`));
		const onB = Array.from({ length: 40 }, (_, i) => b.transport(`b${i}`));
		for (const transport of [...onA, ...onB]) {
			connect(watchdog, transport);
			client(transport, 500);
		}
		const callsA = recordCalls(onA);
		const callsB = recordCalls(onB);
		await vi.advanceTimersByTimeAsync(30_000);

		const { liveness } = watchdog.snapshot();
		expect(liveness.workers).toHaveLength(2);
		for (const worker of liveness.workers) {
			// 40 transports at 10 requests/s: every 4 s, on each worker.
			expect(worker).toMatchObject({ tracked: 40, requestsPerSecond: 10, pollIntervalMs: 4_000, hinted: 0 });
		}
		expect(liveness).toMatchObject({ tracked: 80, requestsPerSecond: 20, pollIntervalMs: 4_000 });
		for (const calls of [callsA, callsB]) {
			expect(busiestWindow(calls.all, 1_000)).toBeLessThanOrEqual(10);
			expect(calls.all.length).toBeGreaterThanOrEqual(280); // ~10/s over 30 s
		}
	});

	it('groups transports without a channel by the { worker } option, else in one lane', () => {
		const watchdog = setup();
		const one = new FakeWorker();
		const two = new FakeWorker();
		const onOne = one.createRouter().createWebRtcTransport<{ userId: string }>({ appData: { userId: 'x' } });
		const onTwo = two.createRouter().createWebRtcTransport<{ userId: string }>({ appData: { userId: 'y' } });
		const unknown = new FakeWorker().createRouter().createWebRtcTransport<{ userId: string }>({ appData: { userId: 'z' } });
		watchdog.watch(onOne, { worker: one });
		watchdog.watch(onTwo, { worker: two });
		watchdog.watch(unknown);
		for (const transport of [onOne, onTwo, unknown]) transport.connectClient();
		expect(watchdog.snapshot().liveness.workers.map((w) => w.tracked)).toEqual([1, 1, 1]);
		expect(watchdog.snapshot().liveness.workers.map((w) => w.pid)).toEqual([0, 0, null]);
	});
});

describe('hints', () => {
	it('polls a transport out of turn when a producer score drops to 0, then at the judge pace: closed at its bound, not a period later', async () => {
		// 100 transports at 10 requests/s: the round-robin comes back every 10 s.
		const watchdog = setup({ inactivityTimeoutMs: 8_000, liveness: { maxStatsRequestsPerSecond: 10 } });
		const w = workerWithChannel();
		const transports = Array.from({ length: 100 }, (_, i) => w.transport(`u${i}`));
		const watches = transports.map((t) => connect(watchdog, t));
		const clients = transports.map((t) => client(t, 20, true)); // audio, 50 packets/s
		const target = transports[0] as Transport;
		const producer = producerOn(target);
		const calls = recordCalls(transports);
		await vi.advanceTimersByTimeAsync(21_000);

		// The client vanishes; the worker's RTP inactivity check reports score 0 1.5 s later.
		clients[0]?.stop();
		const vanishedAt = performance.now();
		await vi.advanceTimersByTimeAsync(1_500);
		const hintAt = performance.now();
		producer.score(0);
		// Out of turn, as soon as the budget has a request free (one every 100 ms at 10/s).
		await vi.advanceTimersByTimeAsync(100 + MIN_TICK_MS);
		const own = calls.of.get(target) as number[];
		expect(own.at(-1)).toBeGreaterThanOrEqual(hintAt);
		expect(watchdog.snapshot().liveness.workers[0]).toMatchObject({ hinted: 1, hints: { 'producer-score': 1 } });

		const watch = watches[0] as TransportWatch;
		for (let waited = 0; watch.state !== 'closed' && waited < 30_000; waited += 50) await vi.advanceTimersByTimeAsync(50);
		const info: CloseInfo = await watch.closed;
		expect(info.reason).toBe('inactive');
		// The hinted poll (one budget slot after the score, ≤ 100 ms) is the judge's last sign; the next
		// hinted poll comes exactly one bound (8 s) later and closes: 1.5 s + 0.1 s + 8 s from the
		// vanish. Without the score, the round-robin would see that sign only at its next turn (up to
		// 10 s after the vanish) and the judge's own hint close it at the bound: up to 18 s.
		expect(info.detectionMs).toBeGreaterThanOrEqual(8_000);
		expect(info.detectionMs).toBeLessThanOrEqual(8_000 + 100); // + one budget slot at most
		expect(performance.now() - vanishedAt).toBeLessThanOrEqual(1_500 + 100 + 8_000 + 100 + MIN_TICK_MS);
		expect(performance.now() - hintAt).toBeLessThanOrEqual(100 + 8_000 + 100 + MIN_TICK_MS);
		expect(watches.slice(1).every((x) => x.state === 'connected')).toBe(true);
		expect(busiestWindow(calls.all, 1_000)).toBeLessThanOrEqual(10);
	});

	it('never closes a live client on a hint: a paused producer (score 0) whose client still sends consent', async () => {
		const watchdog = setup({ inactivityTimeoutMs: 8_000, liveness: { maxStatsRequestsPerSecond: 10 } });
		const w = workerWithChannel();
		const transport = w.transport('alice');
		const watch = connect(watchdog, transport);
		client(transport, 2_500); // consent only
		const producer = producerOn(transport);
		await vi.advanceTimersByTimeAsync(5_000);
		for (let i = 0; i < 20; i += 1) {
			producer.score(0);
			await vi.advanceTimersByTimeAsync(3_000);
		}
		expect(watch.state).toBe('connected');
		const stats = watchdog.snapshot().liveness.workers[0];
		expect(stats?.hints['producer-score']).toBe(20);
		expect(stats?.hintPolls).toBeGreaterThanOrEqual(20);
		producer.close();
		watch.stop();
		expect(transport.watchListenerCount()).toBe(0);
	});

	it('takes a hinted transport back to the round-robin as soon as a poll after the hinted one shows life', async () => {
		// 10 transports at 1/s: a 10 s round-robin. The hinted transport's second hinted poll comes when
		// the judge could decide (its last sign plus 8 s); its answer shows the consent checks since.
		const watchdog = setup({ inactivityTimeoutMs: 8_000, liveness: { maxStatsRequestsPerSecond: 1 } });
		const w = workerWithChannel();
		const transports = Array.from({ length: 10 }, (_, i) => w.transport(`u${i}`));
		const watches = transports.map((t) => connect(watchdog, t));
		for (const t of transports) client(t, 2_500);
		const [first] = transports;
		if (!first) expect.fail('no transport');
		const calls = recordCalls([first]);
		const producer = producerOn(first);
		await vi.advanceTimersByTimeAsync(25_000);
		producer.score(0);
		expect(watchdog.snapshot().liveness.workers[0]?.hinted).toBe(1);
		// The first hinted poll: its growth may predate the hint, so it stays in the lane.
		await vi.advanceTimersByTimeAsync(1_100);
		const hintedAt = calls.of.get(first)?.at(-1) as number;
		expect(watchdog.snapshot().liveness.workers[0]?.hinted).toBe(1);
		// The second, at the judge's pace, shows life: it leaves the lane with that answer.
		let secondAt: number | undefined;
		for (let i = 0; i < 200 && secondAt === undefined; i += 1) {
			await vi.advanceTimersByTimeAsync(50);
			secondAt = calls.of.get(first)?.find((t) => t > hintedAt);
		}
		expect(secondAt).toBeDefined();
		await vi.advanceTimersByTimeAsync(MIN_TICK_MS);
		expect(watchdog.snapshot().liveness.workers[0]?.hinted).toBe(0);
		expect(watches.every((x) => x.state === 'connected')).toBe(true);
	});

	it('keeps a hint storm (every producer score 0 at once) within the budget and closes no live client', async () => {
		const watchdog = setup({ inactivityTimeoutMs: 8_000, liveness: { maxStatsRequestsPerSecond: 10 } });
		const w = workerWithChannel();
		const transports = Array.from({ length: 200 }, (_, i) => w.transport(`u${i}`));
		const watches = transports.map((t) => connect(watchdog, t));
		for (const t of transports) client(t, 1_000);
		const producers = transports.map((t) => producerOn(t));
		const calls = recordCalls(transports);
		await vi.advanceTimersByTimeAsync(5_000);
		for (const p of producers) p.score(0);
		expect(watchdog.snapshot().liveness.workers[0]?.hinted).toBe(200);
		await vi.advanceTimersByTimeAsync(60_000);
		expect(busiestWindow(calls.all, 1_000)).toBeLessThanOrEqual(10);
		expect(watches.every((x) => x.state === 'connected')).toBe(true);
		expect(watchdog.snapshot().liveness.workers[0]?.hinted).toBe(0); // each showed life and left the lane
	});

	it('hints the siblings of a transport judged gone (same user): polled out of turn', async () => {
		const watchdog = setup({ inactivityTimeoutMs: 8_000, liveness: { maxStatsRequestsPerSecond: 10 } });
		const w = workerWithChannel();
		const others = Array.from({ length: 98 }, (_, i) => w.transport(`u${i}`));
		const send = w.transport('alice');
		const recv = w.transport('alice');
		for (const t of [...others, send, recv]) connect(watchdog, t);
		for (const t of others) client(t, 500, true);
		const sendClient = client(send, 20, true);
		const recvClient = client(recv, 100, true);
		const calls = recordCalls([recv]);
		await vi.advanceTimersByTimeAsync(12_000);
		sendClient.stop();
		recvClient.stop();
		await vi.advanceTimersByTimeAsync(45_000);
		expect(watchdog.snapshot().closes.inactive).toBe(2);
		const stats = watchdog.snapshot().liveness.workers[0];
		expect(stats?.hints.sibling).toBeGreaterThanOrEqual(1);
		expect(stats?.hintPolls).toBeGreaterThanOrEqual(1);
		expect(calls.of.get(recv)?.length).toBeGreaterThan(0);
	});

	it('never closes a sibling later than the round-robin alone would: a page of two transports that vanishes, at every phase', async () => {
		// The real-worker case that found it: one page, a send and a receive transport, both silent
		// from the same moment, two transports in the lane. The first judged gone hints the other; the
		// hinted poll must not push the other's deciding poll a whole period later (it did: 10.4 s
		// instead of ≤ 10.1 s from the last packet with the default policy on mediasoup 3.12).
		const T = 8_000;
		const P = 2_000;
		// Phases in whole 100 ms steps: both clients' last packets fall exactly when they stop.
		for (let phaseMs = 0; phaseMs < P; phaseMs += 100) {
			const watchdog = setup({ inactivityTimeoutMs: T, liveness: { pollIntervalMs: P } });
			const w = workerWithChannel();
			const send = w.transport('alice');
			const recv = w.transport('alice');
			const watches = [send, recv].map((t) => connect(watchdog, t));
			const clients = [client(send, 20, true), client(recv, 100, true)];
			const closedAt: number[] = [];
			for (const watch of watches) watch.on('close', () => closedAt.push(performance.now()));
			await vi.advanceTimersByTimeAsync(10_000 + phaseMs);
			for (const c of clients) c.stop();
			const lastPacketAt = performance.now();
			await vi.advanceTimersByTimeAsync(T + 3 * P);
			expect(
				watches.map((x) => x.state),
				`phase ${phaseMs} ms`,
			).toEqual(['closed', 'closed']);
			for (const at of closedAt)
				expect(at - lastPacketAt, `phase ${phaseMs} ms: ${closedAt.map((x) => x - lastPacketAt)}`).toBeLessThanOrEqual(T + P);
			expect(watchdog.snapshot().liveness.workers.length).toBe(0);
			watchdog.stop();
		}
	});
});

describe("the judge's own hint (silence)", () => {
	it('polls a silent transport again when its bound ends, not at the next turn: closed within the bound plus one period, at every phase', async () => {
		// 30 transports at 10 requests/s: each polled every 3 s, which does not divide the 8 s bound.
		// The round-robin alone closes up to ceil(8 / 3) × 3 + 3 = 12 s after the last packet; with
		// the deciding poll moved to the bound, 8 + 3 = 11 s, as snapshot() reports.
		const T = 8_000;
		const P = 3_000;
		for (let phaseMs = 0; phaseMs < P; phaseMs += 500) {
			const watchdog = setup({ inactivityTimeoutMs: T, liveness: { maxStatsRequestsPerSecond: 10 } });
			const w = workerWithChannel();
			const transports = Array.from({ length: 30 }, (_, i) => w.transport(`u${i}`));
			const watches = transports.map((t) => connect(watchdog, t));
			// The one that vanishes sends audio every 20 ms (its last packet is when it stops); the others 5/s.
			const clients = transports.map((t, i) => client(t, i === 0 ? 20 : 200, true));
			const calls = recordCalls(transports);
			await vi.advanceTimersByTimeAsync(12_000 + phaseMs);
			expect(watchdog.snapshot().liveness).toMatchObject({ pollIntervalMs: P, detectionBoundMs: T + P });
			clients[0]?.stop();
			const lastPacketAt = performance.now();
			const watch = watches[0] as TransportWatch;
			let closedAt = Number.NaN;
			watch.on('close', () => {
				closedAt = performance.now();
			});
			await vi.advanceTimersByTimeAsync(T + 2 * P);
			const info: CloseInfo = await watch.closed;
			expect(info.reason, `phase ${phaseMs} ms`).toBe('inactive');
			// From the last sign the watchdog saw (the poll after the last packet): the bound, plus at
			// most one budget slot (100 ms at 10/s) and a tick.
			expect(info.detectionMs, `phase ${phaseMs} ms`).toBeGreaterThanOrEqual(T);
			expect(info.detectionMs, `phase ${phaseMs} ms`).toBeLessThanOrEqual(T + 100 + MIN_TICK_MS);
			expect(closedAt - lastPacketAt, `phase ${phaseMs} ms`).toBeLessThanOrEqual(T + P + 100 + MIN_TICK_MS);
			const lane = watchdog.snapshot().liveness.workers[0];
			expect(lane?.hints.silence, `phase ${phaseMs} ms`).toBeGreaterThanOrEqual(1);
			expect(lane?.hinted).toBe(0); // it left the lane when it closed
			expect(watches.slice(1).every((x) => x.state === 'connected')).toBe(true);
			expect(busiestWindow(calls.all, 1_000)).toBeLessThanOrEqual(10);
			watchdog.stop();
		}
	});

	it('never closes a live client: clients whose pauses come within a period of their bound stay connected', async () => {
		// Polled every 3 s (30 transports, pollIntervalMs 3 s, a budget of 20/s that leaves room for the
		// dump() each silence asks), judged at 8 s. Each client sends audio for 4.5 s,
		// then pauses for 7.5 s, at its own phase: a poll may find the pause 6 s old, short of its bound
		// by less than a period, so the judge's own hint polls it again at the bound's end, where the
		// audio is back. (After such a pause the judge takes it for the client's cadence and raises
		// its bound to 3× the silence it saw, so mostly the first pause comes that close.) None is closed.
		const watchdog = setup({ inactivityTimeoutMs: 8_000, liveness: { maxStatsRequestsPerSecond: 20, pollIntervalMs: 3_000 } });
		const w = workerWithChannel();
		const transports = Array.from({ length: 30 }, (_, i) => w.transport(`u${i}`));
		const watches = transports.map((t) => connect(watchdog, t));
		const startedAt = performance.now();
		for (const [i, transport] of transports.entries()) {
			const offsetMs = i * 400;
			const timer = setInterval(() => {
				if ((performance.now() - startedAt + offsetMs) % 12_000 >= 4_500) return; // pausing
				transport.bytesReceived += 100;
				transport.counters.rtpBytesReceived += 100;
			}, 200);
			addInterval(timer);
		}
		const calls = recordCalls(transports);
		await vi.advanceTimersByTimeAsync(120_000);
		expect(watches.every((x) => x.state === 'connected')).toBe(true);
		expect(watchdog.snapshot().closes.inactive ?? 0).toBe(0);
		const lane = watchdog.snapshot().liveness.workers[0];
		console.log(`silence hints: ${lane?.hints.silence}, polls out of turn: ${lane?.hintPolls}`);
		expect(lane?.hints.silence).toBeGreaterThanOrEqual(5); // the path ran: pauses polled at their bound's end
		expect(busiestWindow(calls.all, 1_000)).toBeLessThanOrEqual(20);
	});
});

describe('a worker that dies', () => {
	it('releases 2 500 watched transports at once: nothing tracked, no lane, no timer', async () => {
		const watchdog = setup({ liveness: { maxStatsRequestsPerSecond: 50 } });
		const w = workerWithChannel();
		const transports = Array.from({ length: 2_500 }, (_, i) => w.transport(`u${i}`));
		const watches = transports.map((t) => connect(watchdog, t, w.worker));
		for (const t of transports.slice(0, 10)) producerOn(t).score(0);
		await vi.advanceTimersByTimeAsync(1_000);
		expect(watchdog.snapshot().liveness.tracked).toBe(2_500);
		w.worker.die();
		expect(watches.every((x) => x.state === 'closed')).toBe(true);
		expect(watchdog.snapshot().liveness).toMatchObject({ tracked: 0, workers: [] });
		expect((await watches[0]?.closed)?.reason).toBe('worker-died');
		expect(vi.getTimerCount()).toBe(0);
	});
});
