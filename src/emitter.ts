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
	/**
	 * Every listener with its event, in the order added: `[event, listener, event, listener, …]`.
	 * Created on the first `on()`: most emitters (one per watch) get none or one, and a flat array
	 * of two is ~64 bytes where a Map of Sets is ~400. Never changed in place (`on()` and `off()`
	 * replace it), so `safeEmit()` walks the listeners present when it began without a copy.
	 */
	#listeners: ReadonlyArray<string | Listener<never>> | undefined;

	on<K extends keyof Events & string>(event: K, listener: Listener<Events[K]>): this {
		const listeners = this.#listeners;
		if (!listeners) {
			this.#listeners = [event, listener as Listener<never>];
			return this;
		}
		// A listener is added once per event, as to a Set: adding it again changes nothing.
		for (let i = 0; i < listeners.length; i += 2) {
			if (listeners[i] === event && listeners[i + 1] === listener) return this;
		}
		// concat() sizes the copy exactly (a spread into a literal leaves room to grow).
		this.#listeners = listeners.concat(event, listener as Listener<never>);
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
		const listeners = this.#listeners;
		if (!listeners) return this;
		let found = -1;
		for (let i = 0; i < listeners.length; i += 2) {
			const added = listeners[i + 1] as Partial<OnceWrapper<never>>;
			if (listeners[i] === event && (added === listener || added.listener === listener)) found = i;
		}
		if (found === -1) return this;
		this.#listeners = listeners.length === 2 ? undefined : listeners.slice(0, found).concat(listeners.slice(found + 2));
		return this;
	}

	listenerCount(event?: keyof Events & string): number {
		const listeners = this.#listeners ?? [];
		if (event === undefined) return listeners.length / 2;
		let count = 0;
		for (let i = 0; i < listeners.length; i += 2) if (listeners[i] === event) count += 1;
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
		const listeners = this.#listeners;
		if (!listeners) return;
		for (let i = 0; i < listeners.length; i += 2) {
			if (listeners[i] !== event) continue;
			try {
				(listeners[i + 1] as Listener<Events[K]>)(payload);
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
