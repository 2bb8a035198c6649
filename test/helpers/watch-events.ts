// Records every event of a TransportWatch, in order, for exact assertions in tests.
import type { TransportWatch, TransportWatchEvents, WatchableTransport } from '../../src/index.js';

export type WatchEventName = keyof TransportWatchEvents;
export type RecordedEvent = { [K in WatchEventName]: { name: K; payload: TransportWatchEvents[K] } }[WatchEventName];

/** A key for every event a TransportWatch emits: the compiler fails here when one is missing. */
const EVERY_WATCH_EVENT: Record<WatchEventName, true> = {
	connect: true,
	disconnect: true,
	reconnect: true,
	icerestart: true,
	statechange: true,
	close: true,
	listenererror: true,
};

/** Every event a TransportWatch emits, in the order above. */
export const WATCH_EVENT_NAMES = Object.keys(EVERY_WATCH_EVENT) as readonly WatchEventName[];

export interface EventLog {
	readonly all: RecordedEvent[];
	/** Names in order, e.g. `['statechange', 'connect']`. */
	names(): WatchEventName[];
	/** Payloads of one event, in order. */
	of<K extends WatchEventName>(name: K): Array<TransportWatchEvents[K]>;
	/** The `from → to` of every statechange, e.g. `['connecting→connected']`. */
	transitions(): string[];
}

/** Subscribes to every event of `watch` and keeps them in order. */
export function recordEvents(watch: TransportWatch<WatchableTransport<unknown>>): EventLog {
	const all: RecordedEvent[] = [];
	const listen = <K extends WatchEventName>(name: K): void => {
		watch.on(name, (payload) => {
			all.push({ name, payload } as RecordedEvent);
		});
	};
	for (const name of WATCH_EVENT_NAMES) listen(name);
	return {
		all,
		names: () => all.map((event) => event.name),
		of: <K extends WatchEventName>(name: K) =>
			all.filter((event) => event.name === name).map((event) => event.payload as TransportWatchEvents[K]),
		transitions: () =>
			all.flatMap((event) => (event.name === 'statechange' ? [`${event.payload.from}→${event.payload.to}`] : [])),
	};
}
