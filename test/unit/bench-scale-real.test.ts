// The scale-real benchmark's pure part (bench/scale-real/results.ts): quantiles, detection by kind
// of transport, false closes (a close before the client vanished counts, a close after it does
// not), CPU above the idle baseline per worker, and the markdown, which must show every false
// close and every vanished transport left unclosed.
import { describe, expect, it } from 'vitest';
import {
	aggregate,
	detectionOf,
	isFalseClose,
	kindOf,
	quantile,
	renderScenario,
	type ScenarioRun,
	type TransportRecord,
} from '../../bench/scale-real/results.js';

const T0 = 1_000_000;
const media = (vanishAfterMs: number | undefined, closeAfterMs: number | undefined, reason = 'inactive'): TransportRecord => ({
	media: true,
	sibling: false,
	webRtcServer: true,
	...(vanishAfterMs === undefined ? {} : { vanishedAt: T0 + vanishAfterMs }),
	...(closeAfterMs === undefined ? {} : { closedAt: T0 + closeAfterMs, reason }),
});
const idle = (
	sibling: boolean,
	webRtcServer: boolean,
	vanish?: number,
	close?: number,
	reason = 'inactive',
): TransportRecord => ({
	media: false,
	sibling,
	webRtcServer,
	...(vanish === undefined ? {} : { vanishedAt: T0 + vanish }),
	...(close === undefined ? {} : { closedAt: T0 + close, reason }),
});
const cpu = (workers: number[], node: number) => ({
	seconds: 20,
	workerPercent: workers,
	nodePercent: node,
	clientsPercent: 30,
	eventLoopP99Ms: 12.5,
});

describe('scale-real benchmark figures', () => {
	it('takes nearest-rank quantiles, NaN for no values', () => {
		const sorted = Array.from({ length: 20 }, (_, i) => i + 1);
		expect(quantile(sorted, 0.5)).toBe(10);
		expect(quantile(sorted, 0.95)).toBe(19);
		expect(quantile([7], 0.95)).toBe(7);
		expect(Number.isNaN(quantile([], 0.5))).toBe(true);
	});

	it('measures detection from the vanish to the close, counts the unclosed, ignores the live, and sorts kinds', () => {
		const records = [
			media(0, 9_000),
			media(1_000, 13_000, 'ice-disconnected'),
			media(0, 20_000),
			media(500, undefined),
			media(undefined, undefined),
		];
		const d = detectionOf(records);
		expect(d).toEqual({
			n: 3,
			medianMs: 12_000,
			p95Ms: 20_000,
			maxMs: 20_000,
			notClosed: 1,
			reasons: { inactive: 2, 'ice-disconnected': 1 },
		});
		expect(kindOf(media(0, 1))).toBe('media');
		expect(kindOf(idle(false, true))).toBe('idle, alone');
		expect(kindOf(idle(true, false))).toBe('idle, with a media sibling');
	});

	it('counts a close of a live client, or one before its vanish, as false, never one after', () => {
		expect(isFalseClose(idle(false, true, undefined, 8_000))).toBe(true);
		expect(isFalseClose(idle(false, true, 30_000, 8_000))).toBe(true);
		expect(isFalseClose(idle(false, true, 30_000, 40_000))).toBe(false);
		expect(isFalseClose(idle(false, true, 30_000, undefined))).toBe(false);
	});

	it('aggregates per mode: detection per kind, false closes (and those on a WebRtcServer), CPU above the baseline per worker', () => {
		const run: ScenarioRun = {
			worker: 'mediasoup 3.27.1',
			node: 'v22.0.0',
			transports: 8,
			workers: 2,
			connected: 8,
			setupSeconds: 12,
			notes: ['1 transport(s) left out: client: DTLS handshake timed out after 20 s'],
			modes: [
				{
					mode: 'naive',
					watched: 8,
					heapPerWatch: 900,
					idle: cpu([2, 3], 10),
					cpu: cpu([4, 6], 25),
					records: [
						media(0, 8_500, 'naive'),
						idle(false, true, undefined, 8_000, 'naive'),
						idle(true, false, 1_000, 10_000, 'naive'),
					],
				},
				{
					mode: 'per-worker',
					watched: 6,
					heapPerWatch: 1_300,
					idle: cpu([2, 3], 10),
					cpu: cpu([2.4, 3.5], 11),
					records: [
						media(0, 18_000),
						idle(false, true, 0, 31_000, 'ice-disconnected'),
						idle(true, false, 0, 19_000),
						media(undefined, undefined),
					],
				},
			],
		};
		const [naive, perWorker] = aggregate(run);
		expect(naive?.falseCloses).toEqual({ media: 0, 'idle, alone': 1, 'idle, with a media sibling': 0 });
		expect(naive?.falseClosesOnServer).toBe(1);
		expect(naive?.workerAboveIdle).toEqual([2, 3]);
		expect(naive?.nodeAboveIdle).toBe(15);
		expect(perWorker?.detection['idle, alone'].medianMs).toBe(31_000);
		expect(perWorker?.detection['idle, with a media sibling'].medianMs).toBe(19_000);
		expect(perWorker?.falseCloses).toEqual({ media: 0, 'idle, alone': 0, 'idle, with a media sibling': 0 });
		expect(perWorker?.workerAboveIdle[0]).toBeCloseTo(0.4);
		expect(perWorker?.workerAboveIdle[1]).toBeCloseTo(0.5);

		const markdown = renderScenario(run, aggregate(run));
		expect(markdown).toContain('### 8 transports / 2 workers (mediasoup 3.27.1, Node v22.0.0)');
		// The naive row shows its false close (1, on a WebRtcServer), the landed row 0.
		expect(markdown).toMatch(
			/\| naive `setInterval\(getStats, 2000\)` per transport \| 8\.5 \/ 8\.5 \/ 8\.5 \(1\) naive × 1 \|.*\| \*\*1\*\* \(1\): idle, alone 1; naive × 1 \|/,
		);
		expect(markdown).toMatch(
			/\| landed: 200\/s per worker \+ hints \| 18\.0 \/ 18\.0 \/ 18\.0 \(1\) inactive × 1 \| 31\.0 \/ 31\.0 \/ 31\.0 \(1\) ice-disconnected × 1 \|.* \| 0 \|/,
		);
		expect(markdown).toContain(
			'| landed: 200/s per worker + hints | 6 | 0.40 %, 0.50 % (2.00 %, 3.00 %) | 1.00 % (10.00 %) | 12.5 ms | 1.27 KB | 30.00 % |',
		);
		expect(markdown).toContain('- 1 transport(s) left out: client: DTLS handshake timed out after 20 s');
	});

	it('shows vanished transports left unclosed in bold', () => {
		const run: ScenarioRun = {
			worker: 'mediasoup 3.27.1',
			node: 'v22',
			transports: 2,
			workers: 1,
			connected: 2,
			setupSeconds: 1,
			notes: [],
			modes: [
				{
					mode: 'shared',
					watched: 2,
					heapPerWatch: 1_000,
					idle: cpu([1], 5),
					cpu: cpu([1.2], 6),
					records: [media(0, undefined), media(0, 30_000)],
				},
			],
		};
		expect(renderScenario(run, aggregate(run))).toContain('30.0 / 30.0 / 30.0 (1; **1 not closed**) inactive × 1');
	});

	it("names a lossy-link scenario's consent timeout and loss, and its live clients closed by reason", () => {
		const run: ScenarioRun = {
			worker: 'mediasoup 3.27.1',
			node: 'v22',
			transports: 3,
			workers: 1,
			iceConsentTimeout: 12,
			consentLoss: 0.02,
			connected: 3,
			setupSeconds: 1,
			notes: [],
			modes: [
				{
					mode: 'per-worker',
					watched: 3,
					heapPerWatch: 1_000,
					idle: cpu([1], 5),
					cpu: cpu([1.2], 6),
					// A vanished one closed 9 s after; two live ones closed, both by the worker's consent check.
					records: [
						media(0, 9_000, 'ice-disconnected'),
						media(undefined, 50_000, 'ice-disconnected'),
						media(undefined, 60_000, 'ice-disconnected'),
					],
					consent: { sent: 1_000, skipped: 20 },
				},
			],
		};
		const markdown = renderScenario(run, aggregate(run));
		expect(markdown).toContain('### 3 transports / 1 worker, `iceConsentTimeout` 12 s, 2.0 % of consent checks lost');
		expect(markdown).toContain('| **2** (2): media 2; ice-disconnected × 2 |');
		expect(markdown).toContain('the clients had sent 1,000 consent checks and skipped 20.');
	});
});
