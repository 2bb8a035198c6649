// The shared liveness scheduler, through a real watchdog on fake mediasoup transports and fake
// timers: detection exactly at the bound, polls spread evenly, the request budget never exceeded
// (and the longer bound reported), only connected transports polled, nothing left behind on
// close/stop, and a worker that never answers stalls nothing.
import { format } from 'node:util';
import debug from 'debug';
import { describe, expect, it, vi } from 'vitest';
import type { Clock } from '../../src/clock.js';
import type { CloseInfo, TransportWatch, Watchdog } from '../../src/index.js';
import { MIN_TICK_MS, STALLED_AFTER_MS as STATS_TIMEOUT_MS } from '../../src/liveness/scheduler.js';
import { busiestWindow } from '../helpers/busiest-window.js';
import { createFakeTransport, FakeInvalidStateError, type FakeWebRtcTransport } from '../helpers/fake-transport.js';
import { useFakeWatchdogs } from '../helpers/fake-watchdogs.js';

type Transport = FakeWebRtcTransport<{ userId: string }> & { dump(): Promise<unknown>; dumpCalls: number };

/** A fake transport with mediasoup's `dump()` (producer/consumer ids) added. */
function fakeTransport(userId: string, media: { producers?: number; consumers?: number } = {}): Transport {
	const { transport } = createFakeTransport({ appData: { userId } });
	const withDump = transport as Transport;
	withDump.dumpCalls = 0;
	withDump.dump = async () => {
		withDump.dumpCalls += 1;
		if (transport.closed) throw new FakeInvalidStateError('closed');
		return {
			id: transport.id,
			producerIds: Array.from({ length: media.producers ?? 0 }, (_, i) => `p${i}`),
			consumerIds: Array.from({ length: media.consumers ?? 0 }, (_, i) => `c${i}`),
		};
	};
	return withDump;
}

const { setup, addInterval, clearIntervals } = useFakeWatchdogs();

/** Watches `transport` and connects its client; the watch is then tracked. */
function connect(watchdog: Watchdog, transport: Transport): TransportWatch {
	const watch = watchdog.watch(transport);
	transport.connectClient();
	expect(watch.state).toBe('connected');
	return watch;
}

/** A client that adds `bytes` to bytesReceived (and to RTP received when `media`) every `everyMs` until `stop()`. */
function client(transport: Transport, everyMs: number, bytes = 100, media = false): { stop(): void } {
	const timer = setInterval(() => {
		transport.bytesReceived += bytes;
		if (media) transport.counters.rtpBytesReceived += bytes;
	}, everyMs);
	addInterval(timer);
	return { stop: () => clearInterval(timer) };
}

/** Records when each getStats() call happened, per transport. */
function recordCalls(transports: Transport[]): Map<Transport, number[]> {
	const calls = new Map<Transport, number[]>();
	for (const transport of transports) {
		const times: number[] = [];
		calls.set(transport, times);
		const original = transport.getStats.bind(transport);
		transport.getStats = () => {
			times.push(performance.now());
			return original();
		};
	}
	return calls;
}

/** Advances fake time in 100 ms steps until the watch ends (at most `maxMs`); resolves with its close. */
async function closeOf(watch: TransportWatch, maxMs = 120_000): Promise<CloseInfo> {
	for (let waited = 0; watch.state !== 'closed' && waited < maxMs; waited += 100) {
		await vi.advanceTimersByTimeAsync(100);
	}
	expect(watch.state).toBe('closed');
	return watch.closed;
}

describe('detection', () => {
	it('closes a connected transport with `inactive` at the first poll 8 s after the last growth it saw, with that as detectionMs', async () => {
		const watchdog = setup();
		const transport = fakeTransport('alice');
		const watch = connect(watchdog, transport);
		const media = client(transport, 500);
		// Past the judge's cadence window (30 s), so the bound is inactivityTimeoutMs.
		await vi.advanceTimersByTimeAsync(39_750);
		media.stop(); // last packet at 39.5 s; the poll at 40 s sees it
		const closes: Array<{ at: number; info: CloseInfo }> = [];
		watch.on('close', (info) => closes.push({ at: performance.now(), info }));
		await vi.advanceTimersByTimeAsync(47_999 - 39_750);
		expect(watch.state).toBe('connected');
		await vi.advanceTimersByTimeAsync(1);
		expect(closes).toHaveLength(1);
		expect(closes[0]?.at).toBe(48_000);
		expect(closes[0]?.info).toMatchObject({
			reason: 'inactive',
			clean: false,
			closedByWatchdog: true,
			detectionMs: 8_000,
		});
		expect(closes[0]?.info.detail).toMatch(/no sign of life for 8000 ms \(bound 8000 ms, polled every 2000 ms\)/);
		expect(transport.closed).toBe(true);
		// Within inactivityTimeoutMs + one poll period of the client's last packet.
		expect(48_000 - 39_500).toBeLessThanOrEqual(8_000 + 2_000);
	});

	it('never closes a client that keeps sending, even one check every 2.5 s, over 10 minutes', async () => {
		const watchdog = setup();
		const transports = [fakeTransport('a'), fakeTransport('b'), fakeTransport('c')];
		const watches = transports.map((t) => connect(watchdog, t));
		client(transports[0] as Transport, 500);
		client(transports[1] as Transport, 2_500);
		client(transports[2] as Transport, 5_000); // werift, Firefox: one check every 5 s
		await vi.advanceTimersByTimeAsync(600_000);
		expect(watches.map((w) => w.state)).toEqual(['connected', 'connected', 'connected']);
		// Judged above inactivityTimeoutMs: the 5 s one, and the 2.5 s one, whose gaps a 2 s sampling
		// interval reads as up to 4 s.
		expect(watchdog.snapshot().liveness).toMatchObject({ tracked: 3, slowCadence: 2, unjudged: 0 });
	});

	it('keeps an idle transport that never carried RTP (WebRtcServer) alive on the worker’s consent replies, and closes it when they stop', async () => {
		const watchdog = setup();
		const transport = fakeTransport('alice');
		const watch = connect(watchdog, transport);
		// bytesReceived never moves (consent not counted on a WebRtcServer); each check adds a reply.
		const consent = setInterval(() => {
			transport.counters.bytesSent += 64;
		}, 2_500);
		addInterval(consent);
		await vi.advanceTimersByTimeAsync(120_000);
		expect(watch.state).toBe('connected');
		expect(transport.dumpCalls).toBe(0);
		expect(watchdog.snapshot().liveness).toMatchObject({ tracked: 1, echo: 1, unjudged: 0 });
		clearInterval(consent);
		const stoppedAt = performance.now();
		const info = await closeOf(watch);
		expect(info.reason).toBe('inactive');
		expect(performance.now() - stoppedAt).toBeLessThanOrEqual(8_000 + 2 * 2_000);
		expect(info.detectionMs).toBeGreaterThanOrEqual(8_000);
	});

	it('closes a silent transport that has producers, even though the worker still sends it RTCP', async () => {
		const watchdog = setup();
		const transport = fakeTransport('alice', { producers: 2 });
		const watch = connect(watchdog, transport);
		const media = setInterval(() => {
			transport.bytesReceived += 5_000;
			transport.counters.rtpBytesReceived += 4_800;
		}, 500);
		const rtcp = setInterval(() => {
			transport.counters.bytesSent += 80; // receiver reports, sent whether the client is there or not
		}, 1_000);
		addInterval(media, rtcp);
		await vi.advanceTimersByTimeAsync(10_000);
		clearInterval(media);
		const vanishedAt = performance.now();
		const info = await closeOf(watch);
		expect(info.reason).toBe('inactive');
		expect(performance.now() - vanishedAt).toBeLessThanOrEqual(8_000 + 2_000);
		expect(transport.dumpCalls).toBe(1);
	});

	it('leaves open, reports and logs once a silent transport whose media had ended while the worker keeps sending it RTCP', async () => {
		const lines: string[] = [];
		const previousNamespaces = debug.disable();
		const previousLog = debug.log;
		debug.enable('mediasoup-watchdog:WARN:Liveness');
		debug.log = (...args: unknown[]) => lines.push(format(...args));
		try {
			const watchdog = setup();
			const transport = fakeTransport('alice'); // dump(): no producers, no consumers
			transport.counters.rtpBytesSent = 50_000; // it had consumers once
			const watch = connect(watchdog, transport);
			const rtcp = setInterval(() => {
				transport.counters.bytesSent += 128;
			}, 5_000);
			addInterval(rtcp);
			await vi.advanceTimersByTimeAsync(120_000);
			expect(watch.state).toBe('connected');
			expect(transport.dumpCalls).toBe(1);
			expect(watchdog.snapshot().liveness).toMatchObject({ tracked: 1, echo: 0, unjudged: 1 });
			const warnings = lines.filter((l) => l.includes(`cannot judge [transportId:${transport.id}`));
			expect(warnings).toHaveLength(1);
			expect(warnings[0]).toMatch(/media ended/);
		} finally {
			debug.log = previousLog;
			debug.disable();
			if (previousNamespaces) debug.enable(previousNamespaces);
		}
	});
});

describe('pacing', () => {
	it('spreads polls evenly: 10 transports every 2 s are 10 polls 200 ms apart, each transport every 2 s', async () => {
		const watchdog = setup();
		const transports = Array.from({ length: 10 }, (_, i) => fakeTransport(`u${i}`));
		for (const transport of transports) {
			connect(watchdog, transport);
			client(transport, 500);
		}
		const calls = recordCalls(transports);
		await vi.advanceTimersByTimeAsync(20_000);
		const all = [...calls.values()].flat().sort((a, b) => a - b);
		expect(all.length).toBeGreaterThanOrEqual(99);
		expect(all.length).toBeLessThanOrEqual(100);
		const gaps = all.slice(1).map((t, i) => t - (all[i] ?? 0));
		expect(new Set(gaps)).toEqual(new Set([200]));
		for (const times of calls.values()) {
			const own = times.slice(1).map((t, i) => t - (times[i] ?? 0));
			expect(new Set(own)).toEqual(new Set([2_000]));
		}
		expect(watchdog.snapshot().liveness).toMatchObject({
			tracked: 10,
			requestsPerSecond: 5,
			pollIntervalMs: 2_000,
			detectionBoundMs: 10_000,
		});
	});

	it('keeps polling each transport exactly every period while others come and go, so detection stays at the bound', async () => {
		const watchdog = setup();
		const transports: Transport[] = [];
		const senders: Array<{ stop(): void }> = [];
		const watches: TransportWatch[] = [];
		for (const at of [0, 300, 700, 1_100]) {
			await vi.advanceTimersByTimeAsync(at - performance.now());
			const transport = fakeTransport(`u${at}`);
			transports.push(transport);
			watches.push(connect(watchdog, transport));
			senders.push(client(transport, 500));
		}
		const calls = recordCalls(transports);
		await vi.advanceTimersByTimeAsync(10_000 - performance.now());
		watches[0]?.close(); // one leaves…
		await vi.advanceTimersByTimeAsync(2_345);
		const late = fakeTransport('late'); // …another comes
		connect(watchdog, late);
		client(late, 500);
		await vi.advanceTimersByTimeAsync(40_000 - performance.now());
		senders[1]?.stop(); // and one vanishes, past the judge's 30 s cadence window
		const vanishedAt = performance.now();
		const info = await closeOf(watches[1] as TransportWatch);
		expect(info.reason).toBe('inactive');
		expect(info.detectionMs).toBeGreaterThanOrEqual(8_000);
		expect(info.detectionMs).toBeLessThanOrEqual(8_000 + MIN_TICK_MS);
		expect(performance.now() - vanishedAt).toBeLessThanOrEqual(8_000 + 2_000 + MIN_TICK_MS);
		for (const transport of transports.slice(2)) {
			const times = calls.get(transport) ?? [];
			const own = times.slice(1).map((t, i) => t - (times[i] ?? 0));
			expect(Math.min(...own)).toBeGreaterThanOrEqual(2_000 - MIN_TICK_MS / 2);
			expect(Math.max(...own)).toBeLessThanOrEqual(2_000 + MIN_TICK_MS);
		}
	});

	it('stays within maxStatsRequestsPerSecond in every second with more transports than it allows, and reports the longer bound', async () => {
		const watchdog = setup({ liveness: { maxStatsRequestsPerSecond: 25 } });
		const transports = Array.from({ length: 250 }, (_, i) => fakeTransport(`u${i}`));
		for (const transport of transports) {
			connect(watchdog, transport);
			client(transport, 2_000);
		}
		const calls = recordCalls(transports);
		await vi.advanceTimersByTimeAsync(60_000);
		const all = [...calls.values()].flat();
		const perSecond = new Map<number, number>();
		for (const t of all) perSecond.set(Math.floor(t / 1_000), (perSecond.get(Math.floor(t / 1_000)) ?? 0) + 1);
		expect(Math.max(...perSecond.values())).toBeLessThanOrEqual(25);
		expect(all.length).toBeGreaterThanOrEqual(59 * 25);
		// Each transport every 250 / 25 = 10 s.
		for (const times of calls.values()) {
			const own = times.slice(1).map((t, i) => t - (times[i] ?? 0));
			expect(Math.min(...own)).toBeGreaterThanOrEqual(10_000);
			expect(Math.max(...own)).toBeLessThanOrEqual(10_000 + MIN_TICK_MS);
		}
		expect(watchdog.snapshot().liveness).toMatchObject({
			tracked: 250,
			requestsPerSecond: 25,
			pollIntervalMs: 10_000,
			detectionBoundMs: 20_000,
		});
	});

	it('keeps every transport’s poll period when its timers fire a few ms late: no verdict drifts past the bound', async () => {
		let seed = 11;
		const random = (n: number): number => {
			seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
			return seed % n;
		};
		const lateClock: Clock = {
			now: () => performance.now(),
			setTimeout: (callback, ms) => setTimeout(callback, ms + random(9)),
			clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
		};
		const watchdog = setup({}, { clock: lateClock });
		const closes: CloseInfo[] = [];
		// 40 transports at 20 polls/s: one poll every 50 ms, each tick a few ms late.
		for (let i = 0; i < 40; i += 1) {
			await vi.advanceTimersByTimeAsync(random(12));
			const transport = fakeTransport(`u${i}`);
			connect(watchdog, transport).on('close', (info) => closes.push(info));
			const sender = client(transport, 250);
			// Past the judge's 30 s cadence window, so each is judged at inactivityTimeoutMs.
			setTimeout(() => sender.stop(), 35_000 + random(4_000));
		}
		await vi.advanceTimersByTimeAsync(60_000);
		expect(closes).toHaveLength(40);
		const detections = closes.map((info) => info.detectionMs as number);
		// From the last sample that saw bytes grow: the bound, plus timer lateness. (When every poll,
		// not only a transport's first, waited for its share of the rate, the lateness piled up as
		// transports closed: over 12 s here.)
		expect(Math.min(...detections)).toBeGreaterThanOrEqual(8_000);
		expect(Math.max(...detections)).toBeLessThan(8_000 + 100);
	});

	it('never sends more than maxStatsRequestsPerSecond in any 1 000 ms, dump() included, however late its timers fire', async () => {
		// Timers fire up to 300 ms late (a busy event loop), in a seeded pseudo-random pattern.
		let seed = 7;
		const lateBy = (): number => {
			seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
			return (seed % 301) | 0;
		};
		const lateClock: Clock = {
			now: () => performance.now(),
			setTimeout: (callback, ms) => setTimeout(callback, ms + lateBy()),
			clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
		};
		const watchdog = setup({ liveness: { maxStatsRequestsPerSecond: 25 } }, { clock: lateClock });
		// 200 idle clients, and 50 with producers whose media stops at 20 s: each silence onset asks dump().
		const idle = Array.from({ length: 200 }, (_, i) => fakeTransport(`idle${i}`));
		const media = Array.from({ length: 50 }, (_, i) => fakeTransport(`media${i}`, { producers: 1 }));
		const sent: number[] = [];
		for (const transport of [...idle, ...media]) {
			connect(watchdog, transport);
			const { getStats, dump } = transport;
			transport.getStats = () => {
				sent.push(performance.now());
				return getStats.call(transport);
			};
			transport.dump = () => {
				sent.push(performance.now());
				return dump.call(transport);
			};
		}
		for (const transport of idle) client(transport, 2_000);
		const flows = media.map((transport) =>
			setInterval(() => {
				transport.bytesReceived += 5_000;
				transport.counters.rtpBytesReceived += 4_800;
			}, 500),
		);
		addInterval(...flows);
		await vi.advanceTimersByTimeAsync(20_000);
		for (const flow of flows) clearInterval(flow);
		await vi.advanceTimersByTimeAsync(60_000);

		expect(media.reduce((n, t) => n + t.dumpCalls, 0)).toBe(50);
		expect(busiestWindow(sent, 1_000)).toBe(25); // the budget is used, and never passed (32 without the request window)
		// Late timers cost little throughput: a tick catches up on the polls it missed.
		expect(sent.length).toBeGreaterThanOrEqual(0.8 * 80 * 25);
		expect(watchdog.snapshot().closes).toEqual({ inactive: 50 });
	});

	it('closes a vanished client within the reported bound when the budget stretches the poll period', async () => {
		// Media clients (RTP every 500 ms): judged at inactivityTimeoutMs whatever the period, the
		// transports the reported bound is for.
		const watchdog = setup({ liveness: { maxStatsRequestsPerSecond: 25 } });
		const transports = Array.from({ length: 250 }, (_, i) => fakeTransport(`u${i}`, { producers: 1 }));
		const senders = transports.map((transport) => {
			connect(watchdog, transport);
			return client(transport, 500, 100, true);
		});
		await vi.advanceTimersByTimeAsync(30_000);
		const watch = watchdog.get((transports[123] as Transport).id) as TransportWatch;
		senders[123]?.stop();
		const vanishedAt = performance.now();
		const { detectionBoundMs: bound, pollIntervalMs: period } = watchdog.snapshot().liveness;
		expect(period).toBe(10_000);
		const info = await closeOf(watch);
		expect(info.reason).toBe('inactive');
		expect(performance.now() - vanishedAt).toBeLessThanOrEqual(bound);
		expect(watchdog.snapshot().transports.connected).toBe(249);
	});

	it('closes a vanished client without media within three periods plus two when the period passes a third of inactivityTimeoutMs', async () => {
		// Consent-only clients every 2 s, polled every 10 s: every sample grows, so all the judge
		// knows of their cadence is that it is at most about a period; it allows two lost checks of
		// such a cadence (three periods), not the 8 s that one lost 5 s check would exceed.
		const watchdog = setup({ liveness: { maxStatsRequestsPerSecond: 25 } });
		const transports = Array.from({ length: 250 }, (_, i) => fakeTransport(`u${i}`));
		const senders = transports.map((transport) => {
			connect(watchdog, transport);
			return client(transport, 2_000);
		});
		await vi.advanceTimersByTimeAsync(60_000);
		const watch = watchdog.get((transports[123] as Transport).id) as TransportWatch;
		senders[123]?.stop();
		const vanishedAt = performance.now();
		const period = watchdog.snapshot().liveness.pollIntervalMs;
		const info = await closeOf(watch);
		expect(info.reason).toBe('inactive');
		expect(info.detail).toMatch(/bound (2[5-9]|3\d)\d{3} ms/);
		expect(performance.now() - vanishedAt).toBeLessThanOrEqual(5 * period);
		expect(watchdog.snapshot().transports.connected).toBe(249);
	});

	it('logs the effective poll period and detection bound when the load changes', async () => {
		const lines: string[] = [];
		const previousNamespaces = debug.disable();
		const previousLog = debug.log;
		debug.enable('mediasoup-watchdog:Liveness');
		debug.log = (...args: unknown[]) => lines.push(format(...args));
		try {
			const watchdog = setup({ liveness: { maxStatsRequestsPerSecond: 10 } });
			for (let i = 0; i < 100; i++) connect(watchdog, fakeTransport(`u${i}`));
			const rates = lines.filter((l) => l.includes('mediasoup-watchdog:Liveness rate() ['));
			expect(rates[0]).toContain(
				'rate() [tracked:1, pollIntervalMs:2000, requestsPerSecond:0.5, detectionBoundMs:10000, budgetLimited:false]',
			);
			const lastRate = rates.at(-1) ?? '';
			expect(lastRate).toContain('budgetLimited:true');
			const logged = Number(/pollIntervalMs:(\d+)/.exec(lastRate)?.[1]);
			expect(logged).toBeGreaterThanOrEqual(9_000);
			expect(logged).toBeLessThanOrEqual(10_000);
			expect(watchdog.snapshot().liveness).toMatchObject({ pollIntervalMs: 10_000, detectionBoundMs: 20_000 });
		} finally {
			debug.log = previousLog;
			debug.disable();
			if (previousNamespaces) debug.enable(previousNamespaces);
		}
	});
});

describe('what is polled', () => {
	it('polls no transport that is connecting, disconnected or restarting, and arms no timer for them', async () => {
		const watchdog = setup({ connectTimeoutMs: Number.POSITIVE_INFINITY, disconnectGraceMs: Number.POSITIVE_INFINITY });
		const connecting = fakeTransport('a');
		watchdog.watch(connecting);
		await vi.advanceTimersByTimeAsync(30_000);
		expect(connecting.getStatsCalls).toBe(0);
		expect(vi.getTimerCount()).toBe(0);
		expect(watchdog.snapshot().liveness.tracked).toBe(0);

		const dropped = fakeTransport('b');
		const watch = connect(watchdog, dropped);
		client(dropped, 500);
		await vi.advanceTimersByTimeAsync(10_000);
		const polled = dropped.getStatsCalls;
		expect(polled).toBe(5);
		dropped.emitIceState('disconnected');
		expect(watch.state).toBe('disconnected');
		await vi.advanceTimersByTimeAsync(60_000);
		expect(dropped.getStatsCalls).toBe(polled);
		expect(watchdog.snapshot().liveness.tracked).toBe(0);

		dropped.emitIceState('completed');
		expect(watch.state).toBe('connected');
		await vi.advanceTimersByTimeAsync(4_000);
		expect(dropped.getStatsCalls).toBe(polled + 2);
	});

	it('stops polling a transport once its watch ends, and arms no timer when nothing is tracked', async () => {
		const watchdog = setup({ connectTimeoutMs: Number.POSITIVE_INFINITY });
		const [a, b] = [fakeTransport('a'), fakeTransport('b')];
		const [watchA, watchB] = [connect(watchdog, a), connect(watchdog, b)];
		client(a, 500);
		client(b, 500);
		await vi.advanceTimersByTimeAsync(10_000);
		watchA.close();
		b.close(); // closed outside the watchdog
		expect(watchB.closeReason).toBe('transport-closed');
		const [callsA, callsB] = [a.getStatsCalls, b.getStatsCalls];
		clearIntervals();
		expect(vi.getTimerCount()).toBe(0);
		await vi.advanceTimersByTimeAsync(60_000);
		expect([a.getStatsCalls, b.getStatsCalls]).toEqual([callsA, callsB]);
		expect(watchdog.snapshot().liveness).toMatchObject({ tracked: 0, requestsPerSecond: 0 });
	});

	it('stops every poll and timer on watchdog.stop(), leaving the transports open', async () => {
		const watchdog = setup({ connectTimeoutMs: Number.POSITIVE_INFINITY });
		const transports = [fakeTransport('a'), fakeTransport('b')];
		for (const transport of transports) connect(watchdog, transport);
		await vi.advanceTimersByTimeAsync(5_000);
		watchdog.stop();
		expect(vi.getTimerCount()).toBe(0);
		const calls = transports.map((t) => t.getStatsCalls);
		await vi.advanceTimersByTimeAsync(60_000);
		expect(transports.map((t) => t.getStatsCalls)).toEqual(calls);
		expect(transports.map((t) => t.closed)).toEqual([false, false]);
	});

	it('polls nothing when inactivityTimeoutMs is Infinity', async () => {
		const watchdog = setup({ inactivityTimeoutMs: Number.POSITIVE_INFINITY });
		const transport = fakeTransport('a');
		connect(watchdog, transport);
		await vi.advanceTimersByTimeAsync(60_000);
		expect(transport.getStatsCalls).toBe(0);
		expect(watchdog.snapshot().liveness).toMatchObject({ tracked: 0, detectionBoundMs: Number.POSITIVE_INFINITY });
	});

	it('arms only unref()ed timers', async () => {
		const spy = vi.spyOn(globalThis, 'setTimeout');
		const watchdog = setup({ connectTimeoutMs: Number.POSITIVE_INFINITY });
		connect(watchdog, fakeTransport('a'));
		await vi.advanceTimersByTimeAsync(10_000);
		const handles = spy.mock.results.map((r) => r.value as { hasRef(): boolean });
		expect(handles.length).toBeGreaterThan(0);
		expect(handles.filter((h) => h.hasRef())).toEqual([]);
		spy.mockRestore();
	});
});

describe('a worker that fails or never answers', () => {
	it('keeps polling the others when one getStats() never settles, never sends it a second one, and reports it stalled', async () => {
		const watchdog = setup();
		const hung = fakeTransport('hung');
		const healthy = fakeTransport('healthy');
		const silent = fakeTransport('silent');
		const watches = [connect(watchdog, hung), connect(watchdog, healthy), connect(watchdog, silent)];
		client(hung, 500);
		client(healthy, 500);
		hung.getStatsImpl = () => new Promise(() => {});
		await vi.advanceTimersByTimeAsync(STATS_TIMEOUT_MS + 3_000);
		expect(watchdog.snapshot().liveness).toMatchObject({ stalled: 1, tracked: 3 });
		await vi.advanceTimersByTimeAsync(60_000);
		expect(hung.getStatsCalls).toBe(1);
		expect(healthy.getStatsCalls).toBeGreaterThanOrEqual(33);
		expect(watches.map((w) => w.state)).toEqual(['connected', 'connected', 'closed']);
		expect(watches[2]?.closeReason).toBe('inactive');
	});

	it('does not count a getStats() rejected because the transport closed as an error', async () => {
		const watchdog = setup();
		const transport = fakeTransport('a');
		const watch = connect(watchdog, transport);
		transport.getStatsImpl = async () => {
			transport.close();
			throw new FakeInvalidStateError('Transport closed');
		};
		await vi.advanceTimersByTimeAsync(2_000);
		expect(watch.closeReason).toBe('transport-closed');
		expect(watchdog.snapshot().liveness.statsErrors).toBe(0);
	});

	it('counts a getStats() failure on an open transport, judges nothing from it and keeps polling', async () => {
		const watchdog = setup();
		const transport = fakeTransport('a');
		const watch = connect(watchdog, transport);
		client(transport, 500);
		let failures = 3;
		const original = transport.getStats.bind(transport);
		transport.getStats = () => (failures-- > 0 ? Promise.reject(new Error('Channel request timeout')) : original());
		await vi.advanceTimersByTimeAsync(60_000);
		expect(watch.state).toBe('connected');
		expect(watchdog.snapshot().liveness.statsErrors).toBe(3);
		expect(transport.getStatsCalls).toBe(30 - 3);
	});
});
