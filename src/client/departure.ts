// Declared departures: a closing tab says so at once (pagehide, optionally beforeunload) instead of
// leaving the server to learn it from silence.

/** Anything with `close()`: a mediasoup-client Transport, a WebSocket, … */
export interface Closable {
	readonly closed?: boolean;
	close(): void;
}

/** The part of `window` the companion listens on. */
export interface DepartureTarget {
	addEventListener(type: string, listener: () => void): void;
	removeEventListener(type: string, listener: () => void): void;
}

export interface DepartureOptions {
	/** The transports to close (DTLS close_notify goes out); read when the page leaves. */
	transports?: () => Iterable<Closable>;
	/** Sends the goodbye (e.g. `navigator.sendBeacon(url, body)` or a signaling message); called before the transports close. */
	goodbye?: () => void;
	/** Also declare on `beforeunload` (default false: it runs even when the leaving is cancelled). */
	beforeunload?: boolean;
	/** Default `globalThis` (the window). */
	target?: DepartureTarget;
}

/** Declares the departure once on `pagehide` (and `beforeunload` if asked). Returns a function that stops listening. */
export function declareDeparture(options: DepartureOptions): () => void {
	const target = options.target ?? (globalThis as unknown as DepartureTarget);
	const events = options.beforeunload ? ['pagehide', 'beforeunload'] : ['pagehide'];
	let declared = false;
	const onLeave = (): void => {
		if (declared) return;
		declared = true;
		try {
			options.goodbye?.();
		} finally {
			for (const transport of options.transports?.() ?? []) if (!transport.closed) transport.close();
		}
	};
	for (const type of events) target.addEventListener(type, onLeave);
	return () => {
		for (const type of events) target.removeEventListener(type, onLeave);
	};
}
