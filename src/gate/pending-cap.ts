import { MAX_TIMER_MS } from '../clock.js';
import { Logger } from '../logger.js';
import type { WatchdogPolicy, WatchdogStore } from '../types.js';
import { userKey } from '../user-key.js';
import type { WatchHandleInternal } from '../watch/host.js';

const logger = new Logger('PendingCap');

/**
 * Calls a store method as a promise, whatever it does: a store that throws synchronously or
 * returns a plain value must neither break a watch's close path nor escape as an exception.
 */
function settle<T>(call: () => Promise<T> | T): Promise<T> {
	try {
		return Promise.resolve(call());
	} catch (error) {
		return Promise.reject(error);
	}
}

/**
 * Per store, the last add or removal of each transport id that is still in flight. The next one
 * for that id waits for it, so the store sees them in the order they were asked for, across
 * watchdogs sharing the store. Otherwise a removal could overtake the add it undoes (Redis's
 * NOSCRIPT retry of the add), or an old watch's removal the add of a new watch of the same
 * transport (`stop()`, then `watch()` again), and leave the count wrong. A store must settle its
 * calls (the Redis store bounds them with `commandTimeoutMs`): a later one waits for them.
 */
const inFlight = new WeakMap<WatchdogStore, Map<string, Promise<unknown>>>();

function inOrder<T>(store: WatchdogStore, transportId: string, call: () => Promise<T> | T): Promise<T> {
	let calls = inFlight.get(store);
	if (!calls) {
		calls = new Map();
		inFlight.set(store, calls);
	}
	const previous = calls.get(transportId);
	const next = previous ? previous.then(call, call) : settle(call);
	calls.set(transportId, next);
	const forget = (): void => {
		if (calls.get(transportId) === next) calls.delete(transportId);
	};
	next.then(forget, forget);
	return next;
}

/** How long a pending entry outlives the connect deadline in the store (a crashed node's entries expire). */
const PENDING_TTL_MARGIN_MS = 5_000;

/**
 * `maxPendingPerUser`: how many never-connected transports one user may hold. Each watch that
 * starts out `connecting` takes a slot in the store; DTLS `connected` or the end of the watch
 * gives it back. One more than the cap is closed with `pending-limit`, so a client cannot
 * exhaust ports (or WebRtcServer slots) with transports it never connects. Apps can ask first
 * with `canCreate(userId)`.
 */
export class PendingCap {
	readonly #policy: WatchdogPolicy<never>;
	readonly #store: WatchdogStore;
	/** transportId → userId while the transport holds a slot. */
	readonly #holders = new Map<string, string>();

	constructor(policy: WatchdogPolicy<never>, store: WatchdogStore) {
		this.#policy = policy;
		this.#store = store;
	}

	get #max(): number {
		return this.#policy.maxPendingPerUser;
	}

	/**
	 * Whether `userId` may create one more never-connected transport. A failing store answers per
	 * `onStoreError.pending`; rejects only with a `TypeError` for a `userId` of the wrong type.
	 */
	async canCreate(userId: string | number): Promise<boolean> {
		const key = userKey('canCreate()', userId);
		if (this.#max === Number.POSITIVE_INFINITY) return true;
		try {
			const pending = await this.#store.countPending(key);
			const allowed = pending < this.#max;
			logger.debug('canCreate() [userId:%s, pending:%d, max:%d, allowed:%s]', userId, pending, this.#max, allowed);
			return allowed;
		} catch (error) {
			const action = this.#policy.onStoreError.pending;
			logger.warn('canCreate() store failed [userId:%s, onStoreError.pending:%s]: %o', userId, action, error);
			return action === 'allow';
		}
	}

	/**
	 * Counts a watch that starts out never connected. When it is one too many for its user (or the
	 * store fails and `onStoreError.pending` is `deny`), the watch is closed with `pending-limit`.
	 */
	admit(watch: WatchHandleInternal): void {
		const { userId, transportId } = watch;
		if (userId === undefined || this.#max === Number.POSITIVE_INFINITY) return;
		const ttlMs = Math.min(this.#policy.connectTimeoutMs, MAX_TIMER_MS) + PENDING_TTL_MARGIN_MS;
		const max = this.#max;
		this.#holders.set(transportId, userId);
		inOrder(this.#store, transportId, () => this.#store.addPending(userId, transportId, ttlMs))
			.then((pending) => {
				if (typeof pending !== 'number' || Number.isNaN(pending)) {
					throw new TypeError(`store.addPending() must resolve with a count, got ${String(pending)}`);
				}
				return pending;
			})
			.then(
				(pending) => {
					logger.debug('admit() [userId:%s, transportId:%s, pending:%d, max:%d]', userId, transportId, pending, max);
					if (pending <= max || watch.state !== 'connecting') return;
					const others = pending - 1;
					logger.warn(
						'admit() pending cap reached [userId:%s, transportId:%s, pending:%d, max:%d]',
						userId,
						transportId,
						pending,
						max,
					);
					watch.terminate('pending-limit', {
						detail: `user ${userId} already holds ${others} never-connected transport${others === 1 ? '' : 's'} (maxPendingPerUser: ${max}); ask watchdog.canCreate(userId) before creating one`,
					});
				},
				(error: unknown) => {
					const action = this.#policy.onStoreError.pending;
					logger.warn(
						'admit() store failed [userId:%s, transportId:%s, onStoreError.pending:%s]: %o',
						userId,
						transportId,
						action,
						error,
					);
					if (action === 'deny' && watch.state === 'connecting') {
						watch.terminate('pending-limit', {
							detail: `the store failed and onStoreError.pending is 'deny': ${error instanceof Error ? error.message : String(error)}`,
						});
					}
				},
			);
	}

	/**
	 * Gives the slot of `transportId` back (it connected or ended); after its add, if the store has
	 * not answered that yet. Idempotent.
	 */
	release(transportId: string): void {
		const userId = this.#holders.get(transportId);
		if (userId === undefined) return;
		this.#holders.delete(transportId);
		inOrder(this.#store, transportId, () => this.#store.removePending(userId, transportId)).then(
			() => logger.debug('release() [userId:%s, transportId:%s]', userId, transportId),
			(error: unknown) => logger.warn('release() store failed [userId:%s, transportId:%s]: %o', userId, transportId, error),
		);
	}
}
