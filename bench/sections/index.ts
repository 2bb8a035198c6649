// The benchmark sections after the core report (bench/run.ts 1–3), in report order. Each runs on
// its own (`BENCH_SECTIONS=<name>[,<name>…] npm run bench`; `core` is the run.ts report) or with
// the rest (no BENCH_SECTIONS), and returns its markdown, which bench/sections/report.ts writes
// into its own marked block of docs/benchmarks.md. A section measures what it can, reports what
// failed and goes on; it throws only when it measured nothing.
import { fidelitySection } from './fidelity.js';
import { scale } from './scale.js';
import { scaleReal } from './scale-real.js';
import { store } from './store.js';

export interface BenchSection {
	/** Block name in docs/benchmarks.md and the BENCH_SECTIONS value. */
	readonly name: string;
	/** One line for the log. */
	readonly title: string;
	/** Measures, logs progress through `log`, returns the section's markdown (starting with a `## ` heading). */
	readonly run: (options: { readonly quick: boolean; readonly log: (line: string) => void }) => Promise<string>;
}

export const SECTIONS: readonly BenchSection[] = [store, scale, scaleReal, fidelitySection];
