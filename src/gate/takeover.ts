// Takeover across SFU nodes: a watchdog whose policy has a `takeover` channel announces every
// `bindSession()` on it, and closes its own transports of a user announced by another node with
// `superseded` (the user reconnected through that node). Nothing closes without an announcement:
// a channel that is down (Redis unreachable) leaves every transport as it is, and says so on the
// observer's `storeerror`.
import { randomUUID } from 'node:crypto';
import { describeValue } from '../checks.js';
import { Logger } from '../logger.js';
import type { TakeoverChannel, WatchdogObserverEvents } from '../types.js';

const logger = new Logger('Takeover');

/** `takeover` of definePolicy(): `false` (the default) or a `TakeoverChannel`. */
export function takeoverOption(value: unknown, given: boolean): TakeoverChannel | false {
	if (value === undefined && given) {
		// `takeover: store.takeover` with a Redis store made without `subscriber`: refused, not silently off.
		throw new TypeError(
			'`takeover` is undefined: give a TakeoverChannel (the Redis store has `store.takeover` only when made with its `subscriber` option) or false',
		);
	}
	if (value === undefined || value === false) return false;
	const channel = value as Partial<TakeoverChannel> | null;
	if (
		typeof channel !== 'object' ||
		channel === null ||
		typeof channel.announce !== 'function' ||
		typeof channel.subscribe !== 'function'
	) {
		throw new TypeError(
			`\`takeover\` must be false or a TakeoverChannel ({ announce, subscribe }, e.g. the Redis store's \`store.takeover\`, which needs its \`subscriber\` option), got ${describeValue(value, { className: true })}`,
		);
	}
	return value as TakeoverChannel;
}

export interface TakeoverHost {
	/** Closes this node's transports of `userId` with `superseded`. */
	supersede(userId: string, detail: string): void;
	reportError(event: WatchdogObserverEvents['storeerror']): void;
}

/** One watchdog's end of the channel: its own origin id, its subscription. */
export class Takeover {
	readonly #channel: TakeoverChannel;
	readonly #host: TakeoverHost;
	/** Who this watchdog is on the channel: its own announcements come back and are ignored. */
	readonly origin = randomUUID();
	#unsubscribe: (() => void) | undefined;

	constructor(channel: TakeoverChannel, host: TakeoverHost) {
		this.#channel = channel;
		this.#host = host;
		this.#unsubscribe = channel.subscribe(
			(userId, origin) => this.#received(userId, origin),
			(error) => this.#host.reportError({ operation: 'subscribeTakeover', userId: undefined, error }),
		);
	}

	/** The user's session is bound here now: the other nodes close theirs. Never rejects. */
	announce(userId: string): void {
		this.#channel.announce(userId, this.origin).then(undefined, (error: unknown) => {
			logger.warn('announce() failed: nothing closes on the other nodes [userId:%s]: %o', userId, error);
			this.#host.reportError({ operation: 'announceTakeover', userId, error });
		});
	}

	stop(): void {
		this.#unsubscribe?.();
		this.#unsubscribe = undefined;
	}

	#received(userId: string, origin: string): void {
		if (origin === this.origin || this.#unsubscribe === undefined) return;
		logger.debug('superseded [userId:%s, by:%s]', userId, origin);
		this.#host.supersede(userId, `session bound on another node (${origin})`);
	}
}
