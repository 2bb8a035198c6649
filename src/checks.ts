// Checks of what the application passes in, and how an error message shows a value it refused:
// one place for the formatters, the duration rule and the shapes `watchTransport()` accepts.
import { MAX_TIMER_MS } from './clock.js';
import type { WatchableTransport, WatchOptions } from './types.js';

/* ------------------------------------------------------------------ showing a value */

/**
 * A refused value and its type, for an option: `"10s" (string)`, `-1 (number)`, `null (null)`,
 * `[object] (object)`; with `className`, an object shows its class: `[Object] (object)`.
 */
export function describeValue(value: unknown, { className = false }: { className?: boolean } = {}): string {
	let shown: string;
	if (typeof value === 'string') shown = JSON.stringify(value);
	else if (typeof value === 'function') shown = `[function ${value.name || 'anonymous'}]`;
	else if (typeof value === 'bigint') shown = `${value}n`;
	else if (typeof value === 'object' && value !== null) {
		const name = className ? (value as { constructor?: { name?: string } }).constructor?.name : undefined;
		shown = name ? `[${name}]` : Array.isArray(value) ? '[array]' : '[object]';
	} else shown = String(value);
	const type = value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
	return `${shown} (${type})`;
}

/**
 * What was passed where an object of some kind was expected: `null`, `a PlainTransport`,
 * `a function (name)`, or a primitive with its type (`42 (number)`).
 */
export function describeKind(value: unknown): string {
	if (value === null) return 'null';
	if (typeof value === 'function') return `a function (${value.name || 'anonymous'})`;
	if (typeof value === 'string') return `${JSON.stringify(value)} (string)`;
	if (typeof value === 'symbol') return 'a symbol';
	if (typeof value !== 'object') return `${String(value)} (${typeof value})`;
	const name = (value as { constructor?: { name?: string } }).constructor?.name;
	if (!name) return 'an object';
	return `${/^[AEIOU]/i.test(name) ? 'an' : 'a'} ${name}`;
}

/* ------------------------------------------------------------------ numbers and durations */

/** A number option: a TypeError for another type, a RangeError for NaN. */
export function number(value: unknown, name: string): number {
	if (typeof value !== 'number') throw new TypeError(`\`${name}\` must be a number, got ${describeValue(value)}`);
	if (Number.isNaN(value)) throw new RangeError(`\`${name}\` must not be NaN, got ${describeValue(value)}`);
	return value;
}

/**
 * A duration option in ms, `fallback` when undefined: `min` … 2^31-1 (the longest timer), or
 * Infinity ("off") unless `finite`. NaN is out of range.
 */
export function duration(
	value: unknown,
	name: string,
	fallback: number,
	{ min = 0, finite = false }: { min?: number; finite?: boolean } = {},
): number {
	if (value === undefined) return fallback;
	if (typeof value !== 'number') throw new TypeError(`\`${name}\` must be a number, got ${describeValue(value)}`);
	const ms = value;
	if (ms === Number.POSITIVE_INFINITY && !finite) return ms;
	if (!(ms >= min && ms <= MAX_TIMER_MS)) {
		const off = finite ? '' : ms === 0 ? ', or Infinity (not 0) to turn it off' : ', or Infinity to turn it off';
		throw new RangeError(`\`${name}\` must be between ${min} and ${MAX_TIMER_MS} ms${off}, got ${describeValue(value)}`);
	}
	return ms;
}

/** A whole count ≥ 0, or Infinity (off). */
export function count(value: unknown, name: string, fallback: number, min = 0): number {
	if (value === undefined) return fallback;
	const n = number(value, name);
	if (n === Number.POSITIVE_INFINITY) return n;
	if (!Number.isInteger(n) || n < min) {
		throw new RangeError(`\`${name}\` must be a whole number ≥ ${min}, or Infinity to turn it off, got ${describeValue(value)}`);
	}
	return n;
}

/** A rate per second, finite, whose interval (1000 / rate ms) a timer can wait: ≥ 1000 / 2^31-1. */
export function perSecond(value: unknown, name: string, fallback: number): number {
	if (value === undefined) return fallback;
	const n = number(value, name);
	if (!(n > 0) || !Number.isFinite(n)) {
		throw new RangeError(`\`${name}\` must be a finite number > 0, got ${describeValue(value)}`);
	}
	if (1000 / n > MAX_TIMER_MS) {
		throw new RangeError(
			`\`${name}\` must be at least 1000 / ${MAX_TIMER_MS} (about 4.66e-7, one request per ${MAX_TIMER_MS} ms, the longest timer), got ${describeValue(value)}`,
		);
	}
	return n;
}

export function boolean(value: unknown, name: string, fallback: boolean): boolean {
	if (value === undefined) return fallback;
	if (typeof value !== 'boolean') throw new TypeError(`\`${name}\` must be a boolean, got ${describeValue(value)}`);
	return value;
}

/** An object option (not null, not an array). */
export function plainObject(value: unknown, name: string): Record<string, unknown> {
	if (typeof value !== 'object' || value === null || Array.isArray(value)) {
		throw new TypeError(`\`${name}\` must be an object, got ${describeValue(value)}`);
	}
	return value as Record<string, unknown>;
}

/** The known key nearest to `key` by edit distance (case-insensitive), if it is plausibly a typo. */
export function closest(key: string, known: readonly string[]): string | undefined {
	let best: string | undefined;
	let bestDistance = Number.POSITIVE_INFINITY;
	for (const candidate of known) {
		const distance = editDistance(key.toLowerCase(), candidate.toLowerCase());
		if (distance < bestDistance) {
			best = candidate;
			bestDistance = distance;
		}
	}
	return bestDistance <= Math.max(2, Math.floor(key.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
	let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
	for (let i = 1; i <= a.length; i++) {
		const current = [i];
		for (let j = 1; j <= b.length; j++) {
			const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
			current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution);
		}
		previous = current;
	}
	return previous[b.length] ?? 0;
}

/* ------------------------------------------------------------------ watchTransport() arguments */

/**
 * Throws a `TypeError` naming the option unless `options` are usable watch options: an object (or
 * undefined) whose `signal` is an AbortSignal and whose `worker` has a boolean `died`. Checked
 * before the watch subscribes to anything, so a refused call leaves no listener behind. `userId`
 * is checked with the policy's `userId()` result.
 */
export function assertWatchOptions(options: unknown): asserts options is WatchOptions | undefined {
	if (options === undefined) return;
	if (typeof options !== 'object' || options === null || Array.isArray(options)) {
		throw new TypeError(`watchTransport() \`options\` must be an object, got ${describeKind(options)}`);
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
		if (!ok) throw new TypeError(`watchTransport() \`signal\` must be an AbortSignal, got ${describeKind(signal)}`);
	}
	if (worker !== undefined) {
		const ok = typeof worker === 'object' && worker !== null && typeof (worker as { died?: unknown }).died === 'boolean';
		if (!ok) {
			throw new TypeError(
				`watchTransport() \`worker\` must be a mediasoup Worker (with a boolean \`died\`), got ${describeKind(worker)}`,
			);
		}
	}
}

/**
 * Throws a `TypeError` unless `value` looks like an open mediasoup WebRtcTransport: `id`,
 * `iceState`, `dtlsState`, `restartIce()`, `getStats()`, `close()`, `on`/`off` and an `observer`.
 * A PlainTransport (no `iceState`/`dtlsState`) or a closed transport is refused.
 */
export function assertWebRtcTransport(value: unknown): asserts value is WatchableTransport<unknown> {
	const t = value as Partial<Record<string, unknown>> | null;
	const ok =
		typeof t === 'object' &&
		t !== null &&
		typeof t.id === 'string' &&
		typeof t.iceState === 'string' &&
		typeof t.dtlsState === 'string' &&
		typeof t.restartIce === 'function' &&
		typeof t.getStats === 'function' &&
		typeof t.close === 'function' &&
		typeof t.on === 'function' &&
		typeof t.off === 'function' &&
		typeof (t.observer as { on?: unknown } | undefined)?.on === 'function';
	if (!ok) {
		throw new TypeError(
			`watchTransport() expects a mediasoup WebRtcTransport (with iceState, dtlsState, restartIce() and an observer), got ${describeKind(value)}`,
		);
	}
	if ((value as WatchableTransport<unknown>).closed) {
		throw new TypeError(`watchTransport() got a closed transport [transportId:${(value as WatchableTransport<unknown>).id}]`);
	}
}
