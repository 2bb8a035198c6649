// Probes against real mediasoup objects: listeners a watch left on a transport, timers it left
// armed (through a clock that counts them), and when the watchdog polled a transport.
import { type Clock, systemClock } from '../../src/clock.js';

interface ListenerSource {
	eventNames(): Array<string | symbol>;
	listenerCount(event: string | symbol): number;
	listeners?(event: string | symbol): unknown[];
}

// The listeners each real transport (and its observer) had when mediasoup handed it out: those
// are mediasoup's own (mediasoup 3.27 puts a `listenererror` one on every transport; 3.12 only
// `@` ones). test/helpers/mediasoup.ts records them for every transport any worker creates.
const libraryListeners = new WeakMap<object, ReadonlySet<unknown>>();

/** Records the listeners `transport` and its observer have now as the library's own (left out by `listenersOn`). */
export function rememberLibraryListeners(transport: { observer: unknown }): void {
	for (const emitter of emittersOf(transport)) {
		const own = new Set<unknown>();
		for (const name of emitter.eventNames()) for (const listener of emitter.listeners?.(name) ?? []) own.add(listener);
		libraryListeners.set(emitter, own);
	}
}

function emittersOf(transport: { observer: unknown }): [ListenerSource, ListenerSource] {
	return [transport as unknown as ListenerSource, transport.observer as ListenerSource];
}

/**
 * Listeners on a transport and on its observer, per event (`'observer:close'` for the observer),
 * leaving out mediasoup-internal `@` events and, by identity, the listeners mediasoup itself put
 * there when it created the transport (see `rememberLibraryListeners`): everything else counts,
 * another `listenererror` listener included. Works on real mediasoup transports (their emitters
 * are Node EventEmitters) and on the fake one.
 */
export function listenersOn(transport: { observer: unknown }): Record<string, number> {
	const map: Record<string, number> = {};
	const [own, observer] = emittersOf(transport);
	for (const [prefix, emitter] of [
		['', own],
		['observer:', observer],
	] as const) {
		const library = libraryListeners.get(emitter);
		for (const name of emitter.eventNames()) {
			if (typeof name === 'string' && name.startsWith('@')) continue;
			let count = emitter.listenerCount(name);
			if (library && emitter.listeners) {
				for (const listener of emitter.listeners(name)) if (library.has(listener)) count -= 1;
			}
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

/**
 * Records `performance.now()` at each `getStats()` call on `transport` (the watchdog's polls, when
 * nothing else asks), by wrapping the method; returns the list it fills.
 */
export function recordPolls(transport: { getStats(): Promise<unknown> }): number[] {
	const polls: number[] = [];
	const original = transport.getStats.bind(transport);
	transport.getStats = () => {
		polls.push(performance.now());
		return original();
	};
	return polls;
}
