// The Redis store's takeover channel: Redis pub/sub on the application's own connections. The
// announcement is published on the store's client; the subscription lives on the `subscriber` the
// application gives (`client.duplicate()`: a connection in subscriber mode can send nothing else).
// With a Cluster, PUBLISH reaches subscribers on every node of the cluster.
import { Logger } from '../logger.js';
import type { TakeoverChannel } from '../types.js';

const logger = new Logger('RedisTakeover');

/** What the channel needs of the subscriber connection (ioredis, iovalkey, standalone or Cluster). */
export interface RedisSubscriber {
	subscribe(channel: string): Promise<unknown>;
	unsubscribe(channel: string): Promise<unknown>;
	on(event: 'message', listener: (channel: string, message: string) => void): unknown;
	off(event: 'message', listener: (channel: string, message: string) => void): unknown;
}

export function isRedisSubscriber(value: unknown): value is RedisSubscriber {
	const bag = value as Record<string, unknown> | null;
	return (
		typeof bag === 'object' &&
		bag !== null &&
		['subscribe', 'unsubscribe', 'on', 'off'].every((name) => typeof bag[name] === 'function')
	);
}

interface Listener {
	readonly onMessage: (userId: string, origin: string) => void;
	readonly onError: (error: unknown) => void;
}

export class RedisTakeover implements TakeoverChannel {
	/** The pub/sub channel: `<keyPrefix>:takeover`. */
	readonly channel: string;
	readonly #publish: (userId: string, message: string) => Promise<void>;
	readonly #subscriber: RedisSubscriber;
	readonly #listeners = new Set<Listener>();

	constructor(channel: string, subscriber: RedisSubscriber, publish: (userId: string, message: string) => Promise<void>) {
		this.channel = channel;
		this.#subscriber = subscriber;
		this.#publish = publish;
	}

	announce(userId: string, origin: string): Promise<void> {
		return this.#publish(userId, JSON.stringify({ u: userId, o: origin }));
	}

	subscribe(onMessage: (userId: string, origin: string) => void, onError: (error: unknown) => void): () => void {
		const listener: Listener = { onMessage, onError };
		if (this.#listeners.size === 0) {
			this.#subscriber.on('message', this.#onMessage);
			this.#subscriber.subscribe(this.channel).then(undefined, (error: unknown) => {
				logger.warn('subscribe() failed [channel:%s]: %o', this.channel, error);
				for (const { onError: report } of this.#listeners) report(error);
			});
		}
		this.#listeners.add(listener);
		return () => {
			if (!this.#listeners.delete(listener) || this.#listeners.size > 0) return;
			this.#subscriber.off('message', this.#onMessage);
			this.#subscriber.unsubscribe(this.channel).then(undefined, (error: unknown) => {
				logger.debug('unsubscribe() failed [channel:%s]: %o', this.channel, error);
			});
		};
	}

	readonly #onMessage = (channel: string, message: string): void => {
		if (channel !== this.channel) return;
		let parsed: { u?: unknown; o?: unknown };
		try {
			parsed = JSON.parse(message) as { u?: unknown; o?: unknown };
		} catch {
			parsed = {};
		}
		if (typeof parsed.u !== 'string' || typeof parsed.o !== 'string') {
			logger.warn('ignored a malformed announcement [channel:%s]: %s', channel, message.slice(0, 200));
			return;
		}
		for (const { onMessage } of [...this.#listeners]) onMessage(parsed.u, parsed.o);
	};
}
