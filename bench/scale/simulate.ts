// A simulated run of the liveness scheduler at scale (issue 17): fake transports on a simulated
// clock, no mediasoup worker. It measures what the scheduling logic decides (detection times,
// false closes, requests per worker per second) and its own cost in Node (CPU per simulated second,
// heap per watch); it does not measure a worker's CPU or a real getStats() round trip.
import { EventEmitter } from 'node:events';
import v8 from 'node:v8';
import vm from 'node:vm';
import type { Clock, TimerHandle } from '../../src/clock.js';
import { definePolicy, type TransportWatch } from '../../src/index.js';
import { WatchdogImpl } from '../../src/watchdog.js';
import { busiestWindow } from '../../test/helpers/busiest-window.js';
import { type FakeWebRtcTransport, FakeWorker } from '../../test/helpers/fake-transport.js';

/** Timers of the simulated clock, fired in time order. */
class SimClock implements Clock {
	#now = 0;
	#next = 1;
	readonly #timers = new Map<number, { at: number; callback: () => void }>();
	now(): number {
		return this.#now;
	}
	setTimeout(callback: () => void, ms: number): TimerHandle {
		const id = this.#next++;
		this.#timers.set(id, { at: this.#now + ms, callback });
		return id;
	}
	clearTimeout(handle: TimerHandle): void {
		this.#timers.delete(handle as number);
	}
	async runUntil(until: number, events: Array<{ at: number; run: () => void }>): Promise<void> {
		for (;;) {
			let id = -1;
			let at = until;
			for (const [key, timer] of this.#timers) {
				if (timer.at <= at) {
					at = timer.at;
					id = key;
				}
			}
			const event = events[0];
			if (event && event.at <= at) {
				events.shift();
				this.#now = event.at;
				event.run();
			} else if (id >= 0) {
				const timer = this.#timers.get(id) as { callback: () => void };
				this.#timers.delete(id);
				this.#now = at;
				timer.callback();
			} else {
				this.#now = until;
				return;
			}
			await new Promise<void>((resolve) => setImmediate(resolve));
		}
	}
}

/** global.gc, or one reached through --expose-gc set at run time (npm run bench does not pass it). */
function collector(): () => void {
	const exposed = (globalThis as { gc?: () => void }).gc;
	if (exposed) return exposed;
	v8.setFlagsFromString('--expose-gc');
	return vm.runInNewContext('gc') as () => void;
}

export type Mode = 'naive' | 'shared' | 'per-worker' | 'per-worker+hints';

export interface ScaleFigures {
	mode: Mode;
	transports: number;
	workers: number;
	vanished: { media: number; idle: number };
	detectionMs: { media: Stats; idle: Stats };
	falseCloses: number;
	busiestSecondPerWorker: number;
	nodeCpuPercentOfCore: number;
	heapBytesPerWatch: number;
}

export interface Stats {
	median: number;
	p95: number;
	max: number;
}

function stats(values: number[]): Stats {
	const sorted = [...values].sort((a, b) => a - b);
	const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
	return { median: at(0.5), p95: at(0.95), max: sorted.at(-1) ?? Number.NaN };
}

/** Media: 50 audio packets/s (bytes as a function of time); idle: a consent check every 2.5 s (Chromium). */
function stat(transport: FakeWebRtcTransport, media: boolean, until: number, now: number) {
	const t = Math.min(now, until);
	const consent = Math.floor(t / 2_500);
	const rtp = media ? Math.floor(t / 20) * 160 : 0;
	return [
		{
			type: 'webrtc-transport',
			transportId: transport.id,
			timestamp: now,
			bytesReceived: consent * 100 + rtp,
			bytesSent: consent * 64 + rtp,
			rtpBytesReceived: rtp,
			rtpBytesSent: rtp,
			rtxBytesReceived: 0,
			rtxBytesSent: 0,
			probationBytesSent: 0,
			iceState: 'completed',
			dtlsState: 'connected',
		},
	];
}

export async function simulate(options: {
	mode: Mode;
	transports: number;
	workers: number;
	vanish: number;
	seed?: number;
}): Promise<ScaleFigures> {
	const { mode, transports: count, workers } = options;
	const clock = new SimClock();
	const budget = mode === 'naive' ? 1e6 : 200;
	const policy = definePolicy({ connectTimeoutMs: Number.POSITIVE_INFINITY, liveness: { maxStatsRequestsPerSecond: budget } });
	const watchdog = new WatchdogImpl(policy, { clock });
	let seed = options.seed ?? 17;
	const random = () => {
		seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
		return seed / 2_147_483_648;
	};
	const channels = Array.from({ length: workers }, () => ({}));
	const routers = Array.from({ length: workers }, () => new FakeWorker().createRouter());
	const sends: number[][] = Array.from({ length: workers }, () => []);
	const gc = collector();
	gc();
	const heapBefore = process.memoryUsage().heapUsed;
	const peers: Array<{ watch: TransportWatch; media: boolean; until: number; producer?: EventEmitter; closedAt?: number }> = [];
	for (let i = 0; i < count; i += 1) {
		const w = i % workers;
		const transport = (routers[w] as ReturnType<FakeWorker['createRouter']>).createWebRtcTransport({
			appData: { userId: `u${i}` },
		});
		if (mode !== 'shared' && mode !== 'naive') Object.assign(transport, { channel: channels[w] });
		const peer = { media: i % 2 === 0, until: Number.POSITIVE_INFINITY } as (typeof peers)[number];
		transport.getStatsImpl = async () => {
			sends[w]?.push(clock.now());
			return stat(transport, peer.media, peer.until, clock.now()) as never;
		};
		// mediasoup's dump(), which the judge asks when RTP stops (counted in the budget like getStats()).
		const dump = async () => {
			sends[w]?.push(clock.now());
			return { id: transport.id, producerIds: peer.media ? ['p'] : [], consumerIds: [] };
		};
		Object.assign(transport, { dump });
		peer.watch = watchdog.watch(transport);
		if (peer.media) {
			peer.producer = new EventEmitter();
			transport.observer.emit('newproducer', { observer: peer.producer });
		}
		transport.connectClient();
		peer.watch.on('close', () => {
			peer.closedAt = clock.now();
		});
		peers.push(peer);
	}
	gc();
	const heapBytesPerWatch = (process.memoryUsage().heapUsed - heapBefore) / count;

	// Vanishes at random phases between 70 s and 100 s; a simulcast producer's score drops to 0 1.5 s later.
	const WARM_MS = 70_000;
	const events: Array<{ at: number; run: () => void }> = [];
	const chosen = new Set<number>();
	while (chosen.size < Math.min(options.vanish, count)) chosen.add(Math.floor(random() * count));
	for (const index of chosen) {
		const peer = peers[index] as (typeof peers)[number];
		const at = Math.round(WARM_MS + random() * 30_000);
		peer.until = at;
		if (mode === 'per-worker+hints' && peer.producer) {
			const producer = peer.producer;
			events.push({ at: at + 1_500, run: () => producer.emit('score', [{ ssrc: 1, score: 0 }]) });
		}
	}
	events.sort((a, b) => a.at - b.at);
	const cpuBefore = process.cpuUsage();
	const END_MS = 230_000;
	await clock.runUntil(END_MS, events);
	const cpu = process.cpuUsage(cpuBefore);
	const media: number[] = [];
	const idle: number[] = [];
	let falseCloses = 0;
	peers.forEach((peer, index) => {
		if (!chosen.has(index)) {
			if (peer.closedAt !== undefined) falseCloses += 1;
			return;
		}
		(peer.media ? media : idle).push((peer.closedAt ?? Number.POSITIVE_INFINITY) - peer.until);
	});
	watchdog.stop();
	return {
		mode,
		transports: count,
		workers,
		vanished: { media: media.length, idle: idle.length },
		detectionMs: { media: stats(media), idle: stats(idle) },
		falseCloses,
		busiestSecondPerWorker: Math.max(...sends.map((times) => busiestWindow(times, 1_000))),
		nodeCpuPercentOfCore: ((cpu.user + cpu.system) / 1_000 / END_MS) * 100,
		heapBytesPerWatch,
	};
}
