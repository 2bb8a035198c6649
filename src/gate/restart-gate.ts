import type { Clock } from '../clock.js';
import { Logger } from '../logger.js';
import type { IceRestartDenialReason } from '../reasons.js';
import type { ConsumeResult, PerUserLimit, WatchdogPolicy, WatchdogStore } from '../types.js';
import type { RestartDecision } from '../watch/host.js';
import { type StormAdmission, StormBreaker } from './storm.js';

const logger = new Logger('RestartGate');

/**
 * The ICE-restart gate. It runs in this order:
 *   1. the watch is closed or stopped     → `closed`
 *   2. DTLS never reached `connected`     → `never-connected` (when `requireConnectedOnce`)
 *   3. the restart-storm breaker is full  → `storm` with a jittered `retryAfterMs` (when `iceRestart.storm`)
 *   4. the user's window is used up       → `rate-limited` with `retryAfterMs`
 *      the store failed (3 or 4)          → `store-unavailable`, or allowed (`onStoreError.restart`)
 * The first two are `precheck()`, synchronous, so a request they refuse never spends the user's
 * allowance; the last two are `decide()`. A breaker slot taken in 3 is given back when 4 refuses,
 * so the breaker counts granted restarts only. Check 4 allows at most `iceRestart.perUser.limit` restarts per `windowMs`
 * for one user, counted in the store shared by every transport of the user (and, with a shared
 * store, by every SFU node). A watch that ends while the store answers is refused with `closed`.
 */
export class RestartGate {
	readonly #policy: WatchdogPolicy<never>;
	readonly #store: WatchdogStore;
	readonly #storm: StormBreaker | undefined;

	constructor(policy: WatchdogPolicy<never>, store: WatchdogStore, clock: Clock) {
		this.#policy = policy;
		this.#store = store;
		const storm = policy.iceRestart.storm;
		this.#storm = storm ? new StormBreaker(storm, store, clock) : undefined;
	}

	/** Checks 1 and 2: the reason to refuse, or undefined to go on to `decide()`. */
	precheck(ended: boolean, connectedOnce: boolean): IceRestartDenialReason | undefined {
		if (ended) return 'closed';
		if (this.#policy.iceRestart.requireConnectedOnce && !connectedOnce) return 'never-connected';
		return undefined;
	}

	/** Checks 3 and 4: spends one restart of `userId`, or says why not. Never rejects. */
	async decide(userId: string | undefined): Promise<RestartDecision> {
		let admission: StormAdmission | undefined;
		try {
			admission = await this.#storm?.admit();
		} catch (error) {
			return this.#storeFailed(userId, error);
		}
		if (admission && !admission.admitted) {
			logger.debug('decide() storm [userId:%s, retryAfterMs:%d]', userId, admission.retryAfterMs);
			return { allowed: false, reason: 'storm', retryAfterMs: admission.retryAfterMs };
		}
		const decision = await this.#decidePerUser(userId);
		if (!decision.allowed && admission?.admitted) this.#storm?.release(admission.token);
		return decision;
	}

	async #decidePerUser(userId: string | undefined): Promise<RestartDecision> {
		const limit = this.#policy.iceRestart.perUser;
		if (limit === false || userId === undefined) {
			logger.debug('decide() no per-user limit [userId:%s]', userId);
			return { allowed: true };
		}
		let result: ConsumeResult;
		try {
			result = checkResult(await this.#store.consumeRestart(userId, limit));
		} catch (error) {
			return this.#storeFailed(userId, error);
		}
		if (result.allowed) {
			logger.debug('decide() allowed [userId:%s, limit:%d, windowMs:%d]', userId, limit.limit, limit.windowMs);
			return { allowed: true };
		}
		const retryAfterMs = retryAfter(result.retryAfterMs, limit);
		logger.debug(
			'decide() rate-limited [userId:%s, limit:%d, windowMs:%d, retryAfterMs:%d]',
			userId,
			limit.limit,
			limit.windowMs,
			retryAfterMs,
		);
		return { allowed: false, reason: 'rate-limited', retryAfterMs };
	}

	#storeFailed(userId: string | undefined, error: unknown): RestartDecision {
		const action = this.#policy.onStoreError.restart;
		logger.warn('decide() store failed [userId:%s, onStoreError.restart:%s]: %o', userId, action, error);
		if (action === 'allow') return { allowed: true };
		return { allowed: false, reason: 'store-unavailable', retryAfterMs: null, cause: error };
	}
}

/** A store that answers something other than a ConsumeResult is treated as a failing store. */
function checkResult(result: unknown): ConsumeResult {
	if (typeof result !== 'object' || result === null || typeof (result as ConsumeResult).allowed !== 'boolean') {
		throw new TypeError(`store.consumeRestart() must resolve with { allowed, retryAfterMs }, got ${String(result)}`);
	}
	return result as ConsumeResult;
}

/** Whole milliseconds ≥ 0; a store that cannot say when gets the whole window (never 0: that invites a retry loop). */
function retryAfter(value: unknown, limit: PerUserLimit): number {
	if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) return limit.windowMs;
	return Math.min(Math.ceil(value), limit.windowMs);
}
