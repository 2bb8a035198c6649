// What the machine adds to every timing while the demo (or a test) runs: how late this process's timers fire
// and how long the worker takes to answer a request. The watchdog's deadlines are timers in this
// process and its liveness verdicts wait for the worker's getStats() answers, so a verdict may
// come this much after its bound on a busy machine without the library being at fault. Measured,
// not guessed: on an idle machine both stay within a few milliseconds.
import { clearTimeout, setTimeout } from 'node:timers';
import type { Worker } from './mediasoup.js';

/** How often the probe measures. */
const PROBE_EVERY_MS = 100;

interface Sample {
	/** `performance.now()` at the end of the measurement. */
	readonly at: number;
	readonly ms: number;
}

/** Lateness seen over a stretch of time. */
export interface Lateness {
	/** The latest a timer of this process fired. */
	readonly timerMs: number;
	/** The longest the worker took to answer. */
	readonly workerMs: number;
}

export class LoadProbe {
	readonly #worker: Worker;
	readonly #timers: Sample[] = [];
	readonly #answers: Sample[] = [];
	#timer: NodeJS.Timeout | undefined;
	#askedAt: number | undefined;
	#stopped = false;

	constructor(worker: Worker) {
		this.#worker = worker;
		this.#arm();
	}

	/** The worst of each between `from` and `to` (`performance.now()` values), an unanswered request included. */
	between(from: number, to: number = performance.now()): Lateness {
		const worst = (samples: readonly Sample[], from: number, to: number): number => {
			let max = 0;
			// A sample covers the `ms` before its end: it counts if that stretch overlaps [from, to].
			for (const sample of samples) if (sample.at >= from && sample.at - sample.ms <= to) max = Math.max(max, sample.ms);
			return max;
		};
		const pending = this.#askedAt === undefined ? 0 : Math.max(0, Math.min(to, performance.now()) - this.#askedAt);
		return {
			// Not rounded: a verdict is held to bound + this, and a rounded-down allowance failed a
			// close that came within it (shown as 3002 ms against 3000 + 2).
			timerMs: worst(this.#timers, from, to),
			workerMs: Math.max(worst(this.#answers, from, to), pending),
		};
	}

	stop(): void {
		this.#stopped = true;
		clearTimeout(this.#timer);
	}

	#arm(): void {
		const armedAt = performance.now();
		this.#timer = setTimeout(() => {
			const now = performance.now();
			this.#timers.push({ at: now, ms: Math.max(0, now - armedAt - PROBE_EVERY_MS) });
			this.#ask();
			if (!this.#stopped) this.#arm();
		}, PROBE_EVERY_MS);
	}

	/** One request to the worker at a time; the next is asked at the first tick after the answer. */
	#ask(): void {
		if (this.#askedAt !== undefined || this.#worker.closed) return;
		const askedAt = performance.now();
		this.#askedAt = askedAt;
		this.#worker
			.getResourceUsage()
			.then(
				() => this.#answers.push({ at: performance.now(), ms: performance.now() - askedAt }),
				() => {},
			)
			.finally(() => {
				this.#askedAt = undefined;
			});
	}
}
