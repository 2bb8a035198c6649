import type { Clock } from '../clock.js';
import { systemClock } from '../clock.js';
import type { ConsumeResult, PerUserLimit, WatchdogStore } from '../types.js';

interface Window {
	/** When the window ends (clock ms): the first attempt at or after it opens a new one. */
	endsAt: number;
	used: number;
}

/**
 * The default store: per-user state in this process's memory. Fixed windows that start at a
 * user's first restart (the same semantics as rate-limiter-flexible, which the Redis store
 * uses), so both stores agree: with `{ limit: 1, windowMs: 20_000 }`, a restart at t = 0 is
 * allowed, one at t = 19 999 is refused with `retryAfterMs: 1`, one at t = 20 000 is allowed.
 * Every method settles synchronously inside its promise, so concurrent callers are exact.
 * Expired entries are dropped; nothing accumulates.
 */
export class MemoryStore implements WatchdogStore {
	readonly #clock: Clock;
	readonly #windows = new Map<string, Window>();
	readonly #pending = new Map<string, Map<string, number>>();
	#nextSweepAt = Number.NEGATIVE_INFINITY;
	/** The restart-storm breaker's "cluster" window: in memory, this process is the cluster. */
	#stormSlots: { at: number; token: string }[] = [];

	constructor(clock: Clock = systemClock) {
		this.#clock = clock;
	}

	async consumeRestart(userId: string, limit: PerUserLimit): Promise<ConsumeResult> {
		return this.#consume(userId, limit);
	}

	/** Synchronous core of `consumeRestart`, exact under concurrent callers. */
	#consume(userId: string, { limit, windowMs }: PerUserLimit): ConsumeResult {
		const now = this.#clock.now();
		this.#sweepWindows(now, windowMs);
		let window = this.#windows.get(userId);
		if (!window || now >= window.endsAt) {
			window = { endsAt: now + windowMs, used: 0 };
			this.#windows.set(userId, window);
		}
		if (window.used < limit) {
			window.used += 1;
			return { allowed: true, retryAfterMs: 0 };
		}
		return { allowed: false, retryAfterMs: Math.max(0, Math.ceil(window.endsAt - now)) };
	}

	async admitClusterRestart(token: string, limit: number, windowMs: number): Promise<ConsumeResult> {
		const now = this.#clock.now();
		// Slots are in time order: drop the ones that left the window from the front.
		let left = 0;
		while (left < this.#stormSlots.length && (this.#stormSlots[left] as { at: number }).at <= now - windowMs) left++;
		if (left > 0) this.#stormSlots.splice(0, left);
		const oldest = this.#stormSlots[0];
		if (oldest && this.#stormSlots.length >= limit) {
			return { allowed: false, retryAfterMs: Math.max(0, Math.ceil(oldest.at + windowMs - now)) };
		}
		this.#stormSlots.push({ at: now, token });
		return { allowed: true, retryAfterMs: 0 };
	}

	async releaseClusterRestart(token: string): Promise<void> {
		this.#stormSlots = this.#stormSlots.filter((slot) => slot.token !== token);
	}

	async addPending(userId: string, transportId: string, ttlMs: number): Promise<number> {
		const now = this.#clock.now();
		let entries = this.#pending.get(userId);
		if (!entries) {
			entries = new Map();
			this.#pending.set(userId, entries);
		}
		entries.set(transportId, now + ttlMs);
		return this.#livePending(userId, now);
	}

	async removePending(userId: string, transportId: string): Promise<void> {
		const entries = this.#pending.get(userId);
		if (!entries) return;
		entries.delete(transportId);
		if (entries.size === 0) this.#pending.delete(userId);
	}

	async countPending(userId: string): Promise<number> {
		return this.#livePending(userId, this.#clock.now());
	}

	/** How many users have live state (for leak tests and snapshots). */
	get size(): number {
		return new Set([...this.#windows.keys(), ...this.#pending.keys()]).size;
	}

	#livePending(userId: string, now: number): number {
		const entries = this.#pending.get(userId);
		if (!entries) return 0;
		for (const [id, expiresAt] of entries) if (expiresAt <= now) entries.delete(id);
		if (entries.size === 0) this.#pending.delete(userId);
		return entries.size;
	}

	/** Drops ended windows, amortised: at most one pass per window length. */
	#sweepWindows(now: number, windowMs: number): void {
		if (now < this.#nextSweepAt) return;
		this.#nextSweepAt = now + windowMs;
		for (const [userId, window] of this.#windows) {
			if (now >= window.endsAt) this.#windows.delete(userId);
		}
	}
}
