// The fidelity benchmark's pure part (bench/fidelity/results.ts): quantiles, the aggregation of
// per-transport records into client × worker and client × worker × kind figures, and the markdown,
// which must report every transport that failed to start and every healthy transport closed.
import { describe, expect, it } from 'vitest';
import {
	aggregate,
	figures,
	quantile,
	renderTables,
	type TransportRecord,
	type WorkerRun,
} from '../../bench/fidelity/results.js';

const sent = (afterVanishMs: number | null, reason = 'inactive'): TransportRecord => ({
	client: 'Chromium',
	kind: 'sending media',
	round: 1,
	watched: true,
	healthyMs: 70_000,
	afterVanishMs,
	...(afterVanishMs === null ? {} : { reason }),
});

describe('fidelity benchmark figures', () => {
	it('interpolates quantiles and gives median, p90 and max, or nothing for no values', () => {
		expect(quantile([1, 2, 3, 4], 0.5)).toBe(2.5);
		expect(quantile([10], 0.9)).toBe(10);
		expect(Number.isNaN(quantile([], 0.5))).toBe(true);
		expect(figures([9, 1, 5, 3, 7, 2, 4, 6, 8, 10])).toEqual({ n: 10, median: 5.5, p90: 9.1, max: 10 });
		expect(figures([])).toBeUndefined();
	});

	it('aggregates per client × worker and per kind: transport-time, healthy closes, detection, reasons, not closed, failures, consent alone', () => {
		const run312: WorkerRun = {
			worker: 'mediasoup 3.12.16',
			node: 'v20',
			consentCheck: false,
			notes: [],
			records: [
				sent(8_000),
				sent(9_000),
				sent(null),
				{
					client: 'Chromium',
					kind: 'muted',
					round: 1,
					watched: true,
					healthyMs: 16_000,
					earlyEnd: { reason: 'inactive', detail: 'no sign of life', afterMs: 16_000 },
				},
				{ client: 'werift', kind: 'DataChannel only', round: 1, watched: true, failure: 'werift client did not start\nstack' },
			],
		};
		const run327: WorkerRun = {
			worker: 'mediasoup 3.27.1',
			node: 'v22',
			consentCheck: true,
			notes: [],
			records: [
				sent(7_000, 'ice-disconnected'),
				{ client: 'Chromium', kind: 'sending media', round: 1, watched: false, healthyMs: 70_000, afterVanishMs: 29_500 },
				{
					client: 'GStreamer webrtcbin',
					kind: 'receive-only',
					round: 1,
					watched: false,
					healthyMs: 30_000,
					earlyEnd: { reason: "ICE 'disconnected'", afterMs: 30_000 },
				},
			],
		};
		const result = aggregate([run312, run327]);
		expect(
			result.pairs.map((p) => [p.client, p.worker, p.transports, p.failed, p.transportMinutes, p.healthyClosed.length]),
		).toEqual([
			['Chromium', 'mediasoup 3.12.16', 4, 0, (3 * 70_000 + 16_000) / 60_000, 1],
			['werift', 'mediasoup 3.12.16', 0, 1, 0, 0],
			['Chromium', 'mediasoup 3.27.1', 1, 0, 70_000 / 60_000, 0],
			['GStreamer webrtcbin', 'mediasoup 3.27.1', 0, 0, 0, 0],
		]);
		const sending312 = result.rows.find((r) => r.worker === 'mediasoup 3.12.16' && r.kind === 'sending media');
		expect(sending312).toMatchObject({ transports: 3, healthyClosed: 0, notClosed: 1, reasons: { inactive: 2 } });
		expect(sending312?.detection).toEqual({ n: 2, median: 8_500, p90: 8_900, max: 9_000 });
		expect(sending312?.alone).toBeUndefined();
		expect(result.rows.find((r) => r.kind === 'muted')).toMatchObject({ transports: 1, healthyClosed: 1, detection: undefined });
		const sending327 = result.rows.find((r) => r.worker === 'mediasoup 3.27.1' && r.client === 'Chromium');
		expect(sending327?.reasons).toEqual({ 'ice-disconnected': 1 });
		expect(sending327?.alone).toEqual({
			transports: 1,
			disconnect: { n: 1, median: 29_500, p90: 29_500, max: 29_500 },
			whileHealthyMs: [],
			never: 0,
		});
		expect(result.rows.find((r) => r.client === 'GStreamer webrtcbin')?.alone).toMatchObject({
			transports: 1,
			whileHealthyMs: [30_000],
		});
		expect(result.failures).toEqual(['werift, mediasoup 3.12.16, DataChannel only, round 1: werift client did not start\nstack']);

		const markdown = renderTables(result, 90_000);
		expect(markdown).toContain(
			'| Chromium | mediasoup 3.12.16 | 4 | 3.8 min | **1**: inactive after 16.0 s (no sign of life) | 0 |',
		);
		expect(markdown).toContain(
			'| Chromium | mediasoup 3.12.16 | sending media | 8.5 / 8.9 / 9.0 (2) | inactive × 2 | 1 | n/a (no consent check) | n/a |',
		);
		expect(markdown).toContain(
			'| Chromium | mediasoup 3.27.1 | sending media | 7.0 / 7.0 / 7.0 (1) | ice-disconnected × 1 | 0 | 29.5 / 29.5 / 29.5 (1) | 0 of 1 |',
		);
		expect(markdown).toContain('1 of 1, 30.0 s after connecting');
		expect(markdown).toContain('**Failed to start or connect** (reported, left out of the figures): 1');
		expect(markdown).toContain('- werift, mediasoup 3.12.16, DataChannel only, round 1: werift client did not start');
		expect(markdown).not.toContain('stack');
	});
});
