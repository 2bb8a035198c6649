// Probes for leak assertions against real mediasoup objects: listeners a watch left on a
// transport, and timers it left armed (through a clock that counts them).
import { type Clock, systemClock } from '../../src/clock.js';

interface ListenerSource {
	eventNames(): Array<string | symbol>;
	listenerCount(event: string | symbol): number;
}

/**
 * Listeners on a transport and on its observer, per event (`'observer:close'` for the observer),
 * leaving out mediasoup-internal `@` events. Works on real mediasoup transports (their emitters
 * are Node EventEmitters) and on the fake one.
 */
export function listenersOn(transport: { observer: unknown }): Record<string, number> {
	const map: Record<string, number> = {};
	for (const [prefix, emitter] of [
		['', transport as unknown as ListenerSource],
		['observer:', transport.observer as ListenerSource],
	] as const) {
		for (const name of emitter.eventNames()) {
			if (typeof name === 'string' && name.startsWith('@')) continue;
			const count = emitter.listenerCount(name);
			if (count > 0) map[`${prefix}${String(name)}`] = count;
		}
	}
	return map;
}

/** A real clock (systemClock) that knows how many of the timers set through it are still pending. */
export interface CountingClock extends Clock {
	/** Timers set and neither fired nor cleared. */
	pending(): number;
	/** Timers set so far. */
	readonly created: number;
}

export function countingClock(base: Clock = systemClock): CountingClock {
	const live = new Set<unknown>();
	let created = 0;
	return {
		now: () => base.now(),
		setTimeout(callback, ms) {
			created += 1;
			const handle: unknown = base.setTimeout(() => {
				live.delete(handle);
				callback();
			}, ms);
			live.add(handle);
			return handle;
		},
		clearTimeout(handle) {
			live.delete(handle);
			base.clearTimeout(handle);
		},
		pending: () => live.size,
		get created() {
			return created;
		},
	};
}
