import { Logger } from './logger.js';

const logger = new Logger('emitter');

// biome-ignore lint/suspicious/noExplicitAny: event maps are checked at the call sites
export type EventMap = Record<string, any>;
type Listener<T> = (payload: T) => void;
/** What once() registers: the wrapper carries the listener it calls, so off() can find it. */
type OnceWrapper<T> = Listener<T> & { listener: Listener<T> };

/** Payload of `listenererror`: a listener threw while handling `event`. */
export interface ListenerErrorEvent {
	readonly event: string;
	readonly error: unknown;
}

/**
 * A typed event emitter whose listeners can never break the emitter's owner: each listener is
 * called in its own try/catch; a throwing listener is logged and re-emitted as `listenererror`.
 * One payload object per event.
 */
export class SafeEmitter<Events extends EventMap> {
	/** Created on the first `on()`: most emitters (one per watch) never get a listener. */
	#listeners: Map<keyof Events, Set<Listener<never>>> | undefined;

	on<K extends keyof Events & string>(event: K, listener: Listener<Events[K]>): this {
		this.#listeners ??= new Map();
		let set = this.#listeners.get(event);
		if (!set) {
			set = new Set();
			this.#listeners.set(event, set);
		}
		set.add(listener as Listener<never>);
		return this;
	}

	once<K extends keyof Events & string>(event: K, listener: Listener<Events[K]>): this {
		const wrapper = ((payload) => {
			this.off(event, wrapper);
			listener(payload);
		}) as OnceWrapper<Events[K]>;
		// A property on the wrapper, like Node's EventEmitter: no other allocation per listener.
		wrapper.listener = listener;
		return this.on(event, wrapper);
	}

	/**
	 * Removes `listener`, or the once() wrapper of it: the one added last when there are several,
	 * as Node's EventEmitter does.
	 */
	off<K extends keyof Events & string>(event: K, listener: Listener<Events[K]>): this {
		const set = this.#listeners?.get(event);
		if (!set) return this;
		let found: Listener<never> | undefined;
		for (const added of set) {
			if (added === listener || (added as Partial<OnceWrapper<never>>).listener === listener) found = added;
		}
		if (found !== undefined && set.delete(found) && set.size === 0) this.#listeners?.delete(event);
		return this;
	}

	listenerCount(event?: keyof Events & string): number {
		if (event !== undefined) return this.#listeners?.get(event)?.size ?? 0;
		let count = 0;
		for (const set of this.#listeners?.values() ?? []) count += set.size;
		return count;
	}

	removeAllListeners(): this {
		this.#listeners = undefined;
		return this;
	}

	/**
	 * Called once for each listener that throws (of any event, `listenererror` included), before
	 * the `listenererror` event. A method, not a callback field: no per-instance cost.
	 */
	protected listenerThrew(_event: keyof Events & string, _error: unknown): void {}

	/** Calls every listener of `event`; a throwing listener becomes a `listenererror` event. */
	protected safeEmit<K extends keyof Events & string>(event: K, payload: Events[K]): void {
		const set = this.#listeners?.get(event);
		if (!set) return;
		for (const listener of [...set]) {
			try {
				(listener as Listener<Events[K]>)(payload);
			} catch (error) {
				logger.error('safeEmit() listener threw [event:%s]: %o', event, error);
				this.listenerThrew(event, error);
				if (event !== 'listenererror') {
					this.safeEmit('listenererror' as K, { event, error } as Events[K]);
				}
			}
		}
	}
}
