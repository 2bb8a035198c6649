// Validation of `iceRestart.storm` (the restart-storm breaker's policy): typed errors naming the
// option and its value, like every other option of definePolicy().
import { count, describeValue, duration, plainObject } from '../checks.js';
import type { StormLimit, WatchdogStore } from '../types.js';

/** The keys `iceRestart.storm` accepts. */
export const STORM_KEYS: readonly string[] = ['perNode', 'cluster', 'windowMs', 'jitterMs'];

const DEFAULT_WINDOW_MS = 1_000;

/**
 * `false` (off, the default) or a frozen `StormLimit`. `checkKeys` refuses unknown keys (the
 * policy's own check, with its did-you-mean hint). At least one of `perNode` and `cluster` must be
 * finite: a breaker bounded by neither would never trip.
 */
export function resolveStorm(value: unknown, checkKeys: (bag: Record<string, unknown>) => void): StormLimit | false {
	if (value === undefined || value === false) return false;
	if (typeof value !== 'object' || value === null || Array.isArray(value)) {
		throw new TypeError(`\`iceRestart.storm\` must be an object or false, got ${describeValue(value)}`);
	}
	const bag = plainObject(value, 'iceRestart.storm');
	checkKeys(bag);
	const perNode = count(bag.perNode, 'iceRestart.storm.perNode', Number.POSITIVE_INFINITY, 1);
	const cluster = count(bag.cluster, 'iceRestart.storm.cluster', Number.POSITIVE_INFINITY, 1);
	if (perNode === Number.POSITIVE_INFINITY && cluster === Number.POSITIVE_INFINITY) {
		throw new RangeError(
			`\`iceRestart.storm\` needs a finite \`perNode\` or \`cluster\` (granted restarts per window), got ${describeValue(value)}; use \`storm: false\` to turn the breaker off`,
		);
	}
	const windowMs = duration(bag.windowMs, 'iceRestart.storm.windowMs', DEFAULT_WINDOW_MS, { min: 1, finite: true });
	const jitterMs = duration(bag.jitterMs, 'iceRestart.storm.jitterMs', windowMs, { finite: true });
	return Object.freeze({ perNode, cluster, windowMs, jitterMs });
}

/** A finite `storm.cluster` needs a store that counts cluster-wide (the memory and Redis stores do). */
export function checkClusterStore(store: WatchdogStore | undefined): void {
	if (store === undefined) return;
	for (const method of ['admitClusterRestart', 'releaseClusterRestart'] as const) {
		if (typeof store[method] !== 'function') {
			throw new TypeError(
				`\`iceRestart.storm.cluster\` needs a store that counts restarts cluster-wide: \`store.${method}\` is ${describeValue(store[method])} (use \`storm.perNode\` alone with this store)`,
			);
		}
	}
}
