import type { Summary } from '../types.js';

/** A bounded window of recent samples with cheap summaries (for snapshots). */
export class SummaryWindow {
	readonly #samples: number[] = [];
	#next = 0;
	readonly #capacity: number;

	constructor(capacity = 1_024) {
		this.#capacity = capacity;
	}

	add(value: number): void {
		if (this.#samples.length < this.#capacity) this.#samples.push(value);
		else {
			this.#samples[this.#next] = value;
			this.#next = (this.#next + 1) % this.#capacity;
		}
	}

	summary(): Summary {
		const n = this.#samples.length;
		if (n === 0) return { count: 0, min: null, mean: null, p50: null, p95: null, max: null };
		const sorted = [...this.#samples].sort((a, b) => a - b);
		const at = (q: number): number => sorted[Math.min(n - 1, Math.floor(q * n))] ?? 0;
		return {
			count: n,
			min: sorted[0] ?? null,
			mean: sorted.reduce((sum, v) => sum + v, 0) / n,
			p50: at(0.5),
			p95: at(0.95),
			max: sorted[n - 1] ?? null,
		};
	}
}
