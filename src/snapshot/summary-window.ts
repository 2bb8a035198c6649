import type { Summary } from '../types.js';

/** How many recent samples the percentiles are taken over. */
const CAPACITY = 1_024;
/** Samples older than this many milliseconds leave the window. */
const MAX_AGE_MS = 600_000;

const EMPTY_WINDOW = { min: null, mean: null, p50: null, p95: null, max: null } as const;

/**
 * Totals since creation (`count`, `sum`) plus min / mean / p50 / p95 / max over a bounded
 * window of recent samples: the last 1 024 samples, none older than 10 minutes (like a
 * Prometheus summary). Adding is O(1); a summary sorts the window once and is cached until the
 * window changes, so calling `summary()` every second costs nothing while nothing happens.
 */
export class SummaryWindow {
	readonly #now: () => number;
	/** Ring buffer of samples and the times they were added, oldest at `#head`. */
	readonly #values: Float64Array;
	readonly #times: Float64Array;
	#head = 0;
	#size = 0;
	#count = 0;
	#sum = 0;
	#cached: Summary | undefined;

	/** @param now - monotonic milliseconds (the watchdog's clock). */
	constructor(now: () => number) {
		this.#now = now;
		this.#values = new Float64Array(CAPACITY);
		this.#times = new Float64Array(CAPACITY);
	}

	add(value: number): void {
		this.#count += 1;
		this.#sum += value;
		const at = (this.#head + this.#size) % CAPACITY;
		this.#values[at] = value;
		this.#times[at] = this.#now();
		if (this.#size < CAPACITY) this.#size += 1;
		else this.#head = (this.#head + 1) % CAPACITY;
		this.#cached = undefined;
	}

	/** Plain, frozen data; the same object is returned while nothing changed. */
	summary(): Summary {
		this.#expire();
		this.#cached ??= this.#compute();
		return this.#cached;
	}

	#expire(): void {
		if (this.#size === 0) return;
		const oldest = this.#now() - MAX_AGE_MS;
		while (this.#size > 0 && (this.#times[this.#head] ?? 0) < oldest) {
			this.#head = (this.#head + 1) % CAPACITY;
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
			const value = this.#values[(this.#head + i) % CAPACITY] ?? 0;
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
