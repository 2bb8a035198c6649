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
 *   given, so siblings hint).
 */
export type Mode = 'naive' | 'shared' | 'per-worker';

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
}
