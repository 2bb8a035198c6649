import type { WatchOptions } from '../types.js';

function describe(value: unknown): string {
	if (value === null) return 'null';
	if (Array.isArray(value)) return 'an array';
	if (typeof value === 'function') return `a function (${value.name || 'anonymous'})`;
	if (typeof value === 'string') return `${JSON.stringify(value)} (string)`;
	if (typeof value === 'symbol') return 'a symbol';
	if (typeof value !== 'object') return `${String(value)} (${typeof value})`;
	return 'an object';
}

/**
 * Throws a `TypeError` naming the option unless `options` are usable watch options: an object (or
 * undefined) whose `signal` is an AbortSignal and whose `worker` has a boolean `died`. Checked
 * before the watch subscribes to anything, so a refused call leaves no listener behind. `userId`
 * is checked with the policy's `userId()` result.
 */
export function assertWatchOptions(options: unknown): asserts options is WatchOptions | undefined {
	if (options === undefined) return;
	if (typeof options !== 'object' || options === null || Array.isArray(options)) {
		throw new TypeError(`watchTransport() \`options\` must be an object, got ${describe(options)}`);
	}
	const { signal, worker } = options as Record<string, unknown>;
	if (signal !== undefined) {
		const s = signal as Partial<Record<string, unknown>> | null;
		const ok =
			typeof s === 'object' &&
			s !== null &&
			typeof s.aborted === 'boolean' &&
			typeof s.addEventListener === 'function' &&
			typeof s.removeEventListener === 'function';
		if (!ok) throw new TypeError(`watchTransport() \`signal\` must be an AbortSignal, got ${describe(signal)}`);
	}
	if (worker !== undefined) {
		const ok = typeof worker === 'object' && worker !== null && typeof (worker as { died?: unknown }).died === 'boolean';
		if (!ok) {
			throw new TypeError(
				`watchTransport() \`worker\` must be a mediasoup Worker (with a boolean \`died\`), got ${describe(worker)}`,
			);
		}
	}
}
