// Records every event of a TransportWatch, in order, for exact assertions in tests.
import type { TransportWatch, TransportWatchEvents, WatchableTransport } from '../../src/index.js';

export type WatchEventName = keyof TransportWatchEvents;
export type RecordedEvent = { [K in WatchEventName]: { name: K; payload: TransportWatchEvents[K] } }[WatchEventName];

const EVENT_NAMES: readonly WatchEventName[] = [
	'connect',
	'disconnect',
	'reconnect',
	'icerestart',
	'statechange',
	'close',
	'listenererror',
];

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
	for (const name of EVENT_NAMES) listen(name);
	return {
		all,
		names: () => all.map((event) => event.name),
		of: <K extends WatchEventName>(name: K) =>
			all.filter((event) => event.name === name).map((event) => event.payload as TransportWatchEvents[K]),
		transitions: () =>
			all.flatMap((event) => (event.name === 'statechange' ? [`${event.payload.from}→${event.payload.to}`] : [])),
	};
}
