// What one scale-real scenario runs (bench/sections/scale-real.ts builds it, bench/scale-real/run.ts
// reads it from SCALE_REAL_CONFIG).

/**
 * - `naive`: a `setInterval(getStats, 2000)` per transport, judging "no growth of `bytesReceived`
 *   for `inactivityTimeoutMs`" (records when it would close; closes nothing);
 * - `shared`: the old single round-robin: one budget of 200 requests/s for the whole process. With
 *   real transports every watch lands in its worker's lane (hints.ts `workerKeyOf`), so it runs as
 *   the same total budget split evenly over the workers' lanes (200 / workers each: the same
 *   period per transport, transports / 200 s) and without `userId` (no sibling hints; the old code
 *   had none);
 * - `per-worker`: the landed code with its defaults: 200 requests/s per worker, hints on (`userId`
 *   given, so siblings hint);
 * - `per-worker-raised`: the same with the budget raised to `RAISED_BUDGET` per worker, what an app
 *   that wants issue 17's media targets at 1 250 transports per worker would set.
 */
export type Mode = 'naive' | 'shared' | 'per-worker' | 'per-worker-raised';

/**
 * The raised per-worker budget: 1 250 transports per worker polled every 3.9 s, so the worst case
 * (the 8 s bound plus one period) stays under issue 17's 12 s p95 target; at the ~30 µs of worker
 * CPU one getStats() costs (benchmarks.md "Cost"), about 1 % of a core.
 */
export const RAISED_BUDGET = 320;

export interface ScaleRealConfig {
	readonly transports: number;
	readonly workers: number;
	/** Users (each one or two transports) that vanish in each mode's run. */
	readonly vanishUsersPerMode: number;
	readonly clientProcesses: number;
	readonly modes: readonly Mode[];
	/** Clients connected, nothing watched: the idle CPU baseline. */
	readonly baselineMs: number;
	/** From watching to the first vanish; CPU is measured over its last `cpuWindowMs`. */
	readonly warmMs: number;
	readonly cpuWindowMs: number;
	/** Vanishes spread at random over this long. */
	readonly vanishSpreadMs: number;
	/** Longest wait for detections after the last vanish. */
	readonly waitMs: number;
	/**
	 * The transports' `iceConsentTimeout` in seconds (mediasoup 3.13.20+; 10–60, 0 off). Default:
	 * mediasoup's, 30.
	 */
	readonly iceConsentTimeout?: number;
	/** Probability that a client skips one consent check (a lossy link). Default 0. */
	readonly consentLoss?: number;
}
