import type { WatchableTransport } from '../types.js';

function describe(value: unknown): string {
	if (value === null) return 'null';
	if (typeof value === 'function') return `a function (${value.name || 'anonymous'})`;
	if (typeof value === 'string') return `${JSON.stringify(value)} (string)`;
	if (typeof value !== 'object') return `${String(value)} (${typeof value})`;
	const name = (value as { constructor?: { name?: string } }).constructor?.name;
	if (!name) return 'an object';
	return `${/^[AEIOU]/i.test(name) ? 'an' : 'a'} ${name}`;
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
			`watchTransport() expects a mediasoup WebRtcTransport (with iceState, dtlsState, restartIce() and an observer), got ${describe(value)}`,
		);
	}
	if ((value as WatchableTransport<unknown>).closed) {
		throw new TypeError(`watchTransport() got a closed transport [transportId:${(value as WatchableTransport<unknown>).id}]`);
	}
}
