import type { Summary } from '../types.js';

/** Options of a `SummaryWindow`. */
export interface SummaryWindowOptions {
	/** How many recent samples the percentiles are taken over. @default 1_024 */
	readonly capacity?: number;
	/** Samples older than this many milliseconds leave the window. `Infinity` keeps them. @default 600_000 */
	readonly maxAgeMs?: number;
	/** Monotonic milliseconds (the watchdog's clock). @default performance.now */
	readonly now?: () => number;
}

const EMPTY_WINDOW = { min: null, mean: null, p50: null, p95: null, max: null } as const;

/**
 * Totals since creation (`count`, `sum`) plus min / mean / p50 / p95 / max over a bounded
 * window of recent samples: the last `capacity` samples, none older than `maxAgeMs` (like a
 * Prometheus summary). Adding is O(1); a summary sorts the window once and is cached until the
 * window changes, so calling `summary()` every second costs nothing while nothing happens.
 */
export class SummaryWindow {
	readonly #capacity: number;
	readonly #maxAgeMs: number;
	readonly #now: () => number;
	/** Ring buffer of samples and the times they were added, oldest at `#head`. */
	readonly #values: Float64Array;
	readonly #times: Float64Array;
	#head = 0;
	#size = 0;
	#count = 0;
	#sum = 0;
	#cached: Summary | undefined;

	constructor(options: SummaryWindowOptions = {}) {
		const capacity = options.capacity ?? 1_024;
		if (!Number.isInteger(capacity) || capacity < 1) {
			throw new RangeError(`\`capacity\` must be a positive integer, got ${String(capacity)} (${typeof capacity})`);
		}
		const maxAgeMs = options.maxAgeMs ?? 600_000;
		if (typeof maxAgeMs !== 'number' || Number.isNaN(maxAgeMs) || maxAgeMs <= 0) {
			throw new RangeError(`\`maxAgeMs\` must be a positive number, got ${String(maxAgeMs)} (${typeof maxAgeMs})`);
		}
		this.#capacity = capacity;
		this.#maxAgeMs = maxAgeMs;
		this.#now = options.now ?? (() => globalThis.performance.now());
		this.#values = new Float64Array(capacity);
		this.#times = new Float64Array(capacity);
	}

	add(value: number): void {
		this.#count += 1;
		this.#sum += value;
		const at = (this.#head + this.#size) % this.#capacity;
		this.#values[at] = value;
		this.#times[at] = this.#now();
		if (this.#size < this.#capacity) this.#size += 1;
		else this.#head = (this.#head + 1) % this.#capacity;
		this.#cached = undefined;
	}

	/** Plain, frozen data; the same object is returned while nothing changed. */
	summary(): Summary {
		this.#expire();
		this.#cached ??= this.#compute();
		return this.#cached;
	}

	#expire(): void {
		if (this.#maxAgeMs === Number.POSITIVE_INFINITY || this.#size === 0) return;
		const oldest = this.#now() - this.#maxAgeMs;
		while (this.#size > 0 && (this.#times[this.#head] ?? 0) < oldest) {
			this.#head = (this.#head + 1) % this.#capacity;
			this.#size -= 1;
			this.#cached = undefined;
		}
	}

	#compute(): Summary {
		const n = this.#size;
		if (n === 0) return Object.freeze({ count: this.#count, sum: this.#sum, window: 0, ...EMPTY_WINDOW });
		const sorted = new Float64Array(n);
		let windowSum = 0;
		for (let i = 0; i < n; i++) {
			const value = this.#values[(this.#head + i) % this.#capacity] ?? 0;
			sorted[i] = value;
			windowSum += value;
		}
		sorted.sort();
		// Nearest-rank percentile: the smallest sample with at least q·n samples at or below it.
		const rank = (q: number): number => sorted[Math.max(0, Math.ceil(q * n) - 1)] ?? 0;
		return Object.freeze({
			count: this.#count,
			sum: this.#sum,
			window: n,
			min: sorted[0] ?? 0,
			mean: windowSum / n,
			p50: rank(0.5),
			p95: rank(0.95),
			max: sorted[n - 1] ?? 0,
		});
	}
}
