// Per-user signaling sessions of one watchdog: which binding is current for each user, and the
// verdicts that transports watched after a session ended (late creation) must follow.

import { describeValue, duration } from '../checks.js';
import type { Clock } from '../clock.js';
import { Logger } from '../logger.js';
import { adapterFor } from './adapters.js';
import { type BindingOwner, type BindingSettings, SessionBindingImpl, type SignalingReason } from './binding.js';
import type { BindSessionOptions, SessionBinding, SessionEnd } from './types.js';

const logger = new Logger('Signaling');

/**
 * How long a user's verdict (`signaling-closed` / `signaling-lost`) is applied to transports watched
 * after it, unless a new `bindSession()` for the user comes first. Long enough for any
 * `createWebRtcTransport()` that was in flight when the session ended.
 */
export const VERDICT_RETENTION_MS = 60_000;

/** What the registry needs from its watchdog. */
export interface SignalingHost {
	readonly clock: Clock;
	/** The policy's `signalingGraceMs`, the default of `BindSessionOptions.graceMs`. */
	readonly graceMs: number;
	/** Terminates every active watch of the user with `reason`. */
	closeUser(userId: string, reason: SignalingReason, detail: string, detectionMs: number | null): void;
}

export interface SignalingVerdict {
	readonly reason: SignalingReason;
	readonly detail: string;
}

interface StoredVerdict extends SignalingVerdict {
	readonly binding: SessionBindingImpl;
	readonly expiresAt: number;
}

const OPTION_KEYS: readonly string[] = ['graceMs', 'heartbeatMs', 'isClean'];

export class SignalingRegistry implements BindingOwner {
	readonly #host: SignalingHost;
	/** The binding of each user that is active or in its grace. */
	readonly #current = new Map<string, SessionBindingImpl>();
	/** Verdicts in order of expiry (insertion order: the retention is constant). */
	readonly #verdicts = new Map<string, StoredVerdict>();

	constructor(host: SignalingHost) {
		this.#host = host;
	}

	get clock(): Clock {
		return this.#host.clock;
	}

	/** Follows `session` for `userId`, replacing the user's previous binding. */
	bind(userId: string, session: unknown, options: BindSessionOptions = {}): SessionBinding {
		const settings = this.#settings(options, userId);
		const adapter = adapterFor(session, userId);
		if (settings.heartbeatMs !== Number.POSITIVE_INFINITY && !adapter.pingable) {
			throw new TypeError(
				`\`heartbeatMs\` needs a \`ws\` WebSocket with \`ping()\`, got a ${adapter.kind} session [userId:${userId}]`,
			);
		}
		const previous = this.#current.get(userId);
		if (previous) {
			logger.debug('bind() replaces [userId:%s, previous:%s]', userId, previous.state);
			previous.replace();
		}
		this.#verdicts.delete(userId);
		const binding = new SessionBindingImpl(this, userId, adapter, settings);
		this.#current.set(userId, binding);
		binding.start();
		return binding;
	}

	/** The verdict a transport of `userId` watched now must follow, if the user's session ended. */
	verdictFor(userId: string): SignalingVerdict | undefined {
		this.#prune();
		const verdict = this.#verdicts.get(userId);
		return verdict ? { reason: verdict.reason, detail: verdict.detail } : undefined;
	}

	/** Releases every binding (no verdict) and forgets every verdict. The registry stays usable. */
	stop(): void {
		for (const binding of [...this.#current.values()]) binding.stop();
		this.#current.clear();
		this.#verdicts.clear();
	}

	/* ---------------------------------------------------------------- BindingOwner */

	settle(binding: SessionBindingImpl, reason: SignalingReason, detail: string, detectionMs: number): void {
		if (this.#current.get(binding.userId) === binding) this.#current.delete(binding.userId);
		this.#prune();
		// Recorded first: a close listener that watches a new transport of this user sees it.
		this.#verdicts.delete(binding.userId);
		this.#verdicts.set(binding.userId, {
			reason,
			detail,
			binding,
			expiresAt: this.#host.clock.now() + VERDICT_RETENTION_MS,
		});
		logger.debug('settle() [userId:%s, reason:%s, detectionMs:%d]', binding.userId, reason, detectionMs);
		this.#host.closeUser(binding.userId, reason, detail, detectionMs);
	}

	released(binding: SessionBindingImpl): void {
		if (this.#current.get(binding.userId) === binding) this.#current.delete(binding.userId);
		if (this.#verdicts.get(binding.userId)?.binding === binding) this.#verdicts.delete(binding.userId);
	}

	/* ---------------------------------------------------------------- internals */

	#prune(): void {
		const now = this.#host.clock.now();
		for (const [userId, verdict] of this.#verdicts) {
			if (verdict.expiresAt > now) return;
			this.#verdicts.delete(userId);
		}
	}

	#settings(options: BindSessionOptions, userId: string): BindingSettings {
		if (typeof options !== 'object' || options === null) {
			throw new TypeError(`bindSession() \`options\` must be an object, got ${describeValue(options)} [userId:${userId}]`);
		}
		for (const key of Object.keys(options)) {
			if (!OPTION_KEYS.includes(key)) {
				throw new TypeError(`bindSession() unknown option \`${key}\` (valid: ${OPTION_KEYS.join(', ')}) [userId:${userId}]`);
			}
		}
		const isClean: unknown = options.isClean;
		if (isClean !== undefined && typeof isClean !== 'function') {
			throw new TypeError(`\`isClean\` must be a function, got ${describeValue(isClean)}`);
		}
		return {
			graceMs: duration(options.graceMs, 'graceMs', this.#host.graceMs),
			heartbeatMs: duration(options.heartbeatMs, 'heartbeatMs', Number.POSITIVE_INFINITY, { min: 1 }),
			isClean: isClean as ((end: SessionEnd) => boolean) | undefined,
		};
	}
}
