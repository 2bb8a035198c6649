// The restart-storm breaker: bounds granted ICE restarts per node (in this process) and
// cluster-wide (in the store), each in a sliding window. Above either bound a request is refused
// with `storm` and a jittered `retryAfterMs`, so a network event that makes many clients ask at
// once is spread over time instead of stampeding the workers and the signaling.
import { randomUUID } from 'node:crypto';
import type { Clock } from '../clock.js';
import { Logger } from '../logger.js';
import type { StormLimit, WatchdogStore } from '../types.js';

const logger = new Logger('StormBreaker');

/** One slot: `token` names it in the store, so a refused restart can give it back. */
export type StormAdmission =
	| { readonly admitted: true; readonly token: string }
	| { readonly admitted: false; readonly retryAfterMs: number };

interface Slot {
	readonly at: number;
	readonly token: string;
}

export class StormBreaker {
	readonly #limit: StormLimit;
	readonly #store: WatchdogStore;
	readonly #clock: Clock;
	readonly #random: () => number;
	readonly #prefix = randomUUID();
	/** This node's slots in the window, oldest first. */
	#slots: Slot[] = [];
	#next = 0;

	constructor(limit: StormLimit, store: WatchdogStore, clock: Clock, random: () => number = Math.random) {
		this.#limit = limit;
		this.#store = store;
		this.#clock = clock;
		this.#random = random;
	}

	/** Takes a slot on this node, then one cluster-wide. Rejects when the store fails (no slot held). */
	async admit(): Promise<StormAdmission> {
		const { perNode, cluster, windowMs } = this.#limit;
		const now = this.#clock.now();
		this.#prune(now);
		const oldest = this.#slots[0];
		if (oldest && this.#slots.length >= perNode) {
			logger.debug('admit() refused on this node [perNode:%d, windowMs:%d]', perNode, windowMs);
			return this.#refuse(oldest.at + windowMs - now);
		}
		const slot = { at: now, token: `${this.#prefix}:${this.#next++}` };
		this.#slots.push(slot);
		if (cluster === Number.POSITIVE_INFINITY) return { admitted: true, token: slot.token };
		let result: Awaited<ReturnType<NonNullable<WatchdogStore['admitClusterRestart']>>>;
		try {
			// definePolicy() checked that the store has it (checkClusterStore).
			result = await (this.#store.admitClusterRestart as NonNullable<WatchdogStore['admitClusterRestart']>)(
				slot.token,
				cluster,
				windowMs,
			);
		} catch (error) {
			this.#drop(slot.token);
			throw error;
		}
		if (result.allowed) return { admitted: true, token: slot.token };
		this.#drop(slot.token);
		logger.debug('admit() refused cluster-wide [cluster:%d, windowMs:%d]', cluster, windowMs);
		return this.#refuse(result.retryAfterMs);
	}

	/** Gives a slot back: the restart it was taken for was refused by a later check. */
	release(token: string): void {
		this.#drop(token);
		if (this.#limit.cluster === Number.POSITIVE_INFINITY) return;
		this.#store.releaseClusterRestart?.(token).catch((error: unknown) => {
			// The slot then expires with its window: the breaker errs on the cautious side.
			logger.warn('release() store failed [token:%s]: %o', token, error);
		});
	}

	#refuse(waitMs: number): StormAdmission {
		const wait = Number.isFinite(waitMs) && waitMs > 0 ? Math.min(waitMs, this.#limit.windowMs) : this.#limit.windowMs;
		return { admitted: false, retryAfterMs: Math.max(1, Math.ceil(wait + this.#random() * this.#limit.jitterMs)) };
	}

	#prune(now: number): void {
		const since = now - this.#limit.windowMs;
		let drop = 0;
		while (drop < this.#slots.length && (this.#slots[drop] as Slot).at <= since) drop++;
		if (drop > 0) this.#slots = this.#slots.slice(drop);
	}

	#drop(token: string): void {
		this.#slots = this.#slots.filter((slot) => slot.token !== token);
	}
}
