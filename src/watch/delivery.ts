// Re-entrancy-aware delivery: a watch knows when it is handing an event to listeners (its own, or
// through its host the observer's), so an ending decided inside a listener is announced after the
// event being delivered, and every listener sees the events in the order the states changed.
import { type EventMap, SafeEmitter } from '../emitter.js';

export abstract class DeliveringEmitter<Events extends EventMap> extends SafeEmitter<Events> {
	/** How deep we are in handing an event to listeners (the handle's or, through the host, the observer's). */
	#delivering = 0;
	/** The announcement of an ending decided inside a listener, due on the next microtask. */
	#pendingAnnounce: (() => void) | undefined;

	/**
	 * Announces an ending decided inside a listener now rather than on the next microtask (the
	 * watchdog calls it before it watches the same transport again). No-op otherwise.
	 */
	announceEnd(): void {
		const announce = this.#pendingAnnounce;
		this.#pendingAnnounce = undefined;
		announce?.();
	}

	protected override safeEmit<K extends keyof Events & string>(event: K, payload: Events[K]): void {
		this.#delivering += 1;
		try {
			super.safeEmit(event, payload);
		} finally {
			this.#delivering -= 1;
		}
	}

	/** Calls the host, which emits on the watchdog's observer: counts as delivering an event. */
	protected deliver(call: () => void): void {
		this.#delivering += 1;
		try {
			call();
		} finally {
			this.#delivering -= 1;
		}
	}

	/**
	 * Runs `announce` now, or, when the ending was decided inside a listener (close()/stop()/
	 * closeUser() in a `statechange`, `connect`… of this watch or of the observer), right after the
	 * event being delivered, on the next microtask.
	 */
	protected announceAfterDelivery(announce: () => void): void {
		if (this.#delivering > 0) {
			this.#pendingAnnounce = announce;
			queueMicrotask(() => this.announceEnd());
		} else announce();
	}
}
