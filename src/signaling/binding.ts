// One user's link to one signaling session: follows its end, runs the reconnect grace, and asks the
// registry to close the user's transports with the verdict.
import type { Clock } from '../clock.js';
import { TimerSlot } from '../clock.js';
import { Logger } from '../logger.js';
import type { AdapterEnd, SessionAdapter } from './adapters.js';
import { Heartbeat } from './heartbeat.js';
import type { SessionBinding, SessionBindingState, SessionEnd, SessionKind } from './types.js';

const logger = new Logger('SessionBinding');

export type SignalingReason = 'signaling-closed' | 'signaling-lost';

/** What a binding needs from its registry. */
export interface BindingOwner {
	readonly clock: Clock;
	/** Records the verdict for late transports, then closes the user's transports with it. */
	settle(binding: SessionBindingImpl, reason: SignalingReason, detail: string, detectionMs: number): void;
	/** The binding no longer follows anything (unbound): forget it and any verdict it left. */
	released(binding: SessionBindingImpl): void;
}

/** Resolved options of one binding. */
export interface BindingSettings {
	readonly graceMs: number;
	readonly heartbeatMs: number;
	readonly isClean: ((end: SessionEnd) => boolean) | undefined;
}

export class SessionBindingImpl implements SessionBinding {
	readonly userId: string;
	readonly kind: SessionKind;
	readonly #owner: BindingOwner;
	/** Dropped once the binding is over: a finished binding holds no reference to its session. */
	#adapter: SessionAdapter | undefined;
	readonly #settings: BindingSettings;
	readonly #boundAt: number;
	readonly #grace: TimerSlot;
	#state: SessionBindingState = 'active';
	#end: SessionEnd | undefined;
	#detach: (() => void) | undefined;
	#heartbeat: Heartbeat | undefined;

	constructor(owner: BindingOwner, userId: string, adapter: SessionAdapter, settings: BindingSettings) {
		this.#owner = owner;
		this.userId = userId;
		this.kind = adapter.kind;
		this.#adapter = adapter;
		this.#settings = settings;
		this.#boundAt = owner.clock.now();
		this.#grace = new TimerSlot(owner.clock);
	}

	/** Starts following the session. Called once by the registry. */
	start(): void {
		const adapter = this.#adapter;
		if (!adapter) return;
		this.#detach = adapter.follow((end) => this.#ended(end, this.#owner.clock.now()));
		const socket = adapter.pingable;
		if (socket && this.#settings.heartbeatMs !== Number.POSITIVE_INFINITY) {
			this.#heartbeat = new Heartbeat(socket, this.#settings.heartbeatMs, this.#owner.clock, (lastPongAt) => {
				const ms = this.#settings.heartbeatMs;
				const ended = this.#ended(
					{
						clean: false,
						reason: 'heartbeat timeout',
						detail: `WebSocket missed its heartbeat: no pong within ${ms} ms of a ping`,
					},
					lastPongAt,
					true,
				);
				// As ws's own heartbeat does: a socket that stopped answering is terminated. Our listeners
				// are gone by now, so its close (1006) is not counted twice.
				if (ended) {
					try {
						socket.terminate?.();
					} catch (error) {
						logger.warn('heartbeat terminate() threw [userId:%s]: %o', this.userId, error);
					}
				}
			});
		}
		logger.debug(
			'start() [userId:%s, kind:%s, graceMs:%d, heartbeatMs:%d]',
			this.userId,
			this.kind,
			this.#settings.graceMs,
			this.#settings.heartbeatMs,
		);
	}

	get state(): SessionBindingState {
		return this.#state;
	}

	get end(): SessionEnd | undefined {
		return this.#end;
	}

	unbind(): void {
		if (this.#state === 'replaced' || this.#state === 'unbound') return;
		logger.debug('unbind() [userId:%s, state:%s]', this.userId, this.#state);
		if (this.#state === 'active' || this.#state === 'grace') {
			this.#release();
			this.#state = 'unbound';
		}
		this.#owner.released(this);
	}

	[Symbol.dispose](): void {
		this.unbind();
	}

	/** A newer binding of the same user takes over: this one's later end must not kill the user. */
	replace(): void {
		if (this.#state !== 'active' && this.#state !== 'grace') return;
		logger.debug('replace() [userId:%s, state:%s]', this.userId, this.#state);
		this.#release();
		this.#state = 'replaced';
	}

	/** `watchdog.stop()`: let go without a verdict. */
	stop(): void {
		if (this.#state !== 'active' && this.#state !== 'grace') return;
		this.#release();
		this.#state = 'unbound';
	}

	#release(): void {
		this.#detach?.();
		this.#detach = undefined;
		this.#heartbeat?.stop();
		this.#heartbeat = undefined;
		this.#adapter = undefined;
		this.#grace.clear();
	}

	/** The session ended; `lastSignAt` is when it was last seen alive. Returns false if ignored. */
	#ended(raw: AdapterEnd, lastSignAt: number, heartbeat = false): boolean {
		if (this.#state !== 'active') return false;
		this.#detach?.();
		this.#detach = undefined;
		this.#heartbeat?.stop();
		this.#heartbeat = undefined;
		this.#adapter = undefined;

		const now = this.#owner.clock.now();
		let end: SessionEnd = Object.freeze({
			kind: this.kind,
			clean: raw.clean,
			code: raw.code,
			reason: raw.reason,
			...(raw.cause === undefined ? {} : { cause: raw.cause }),
			heartbeat,
			afterMs: now - this.#boundAt,
		});
		const isClean = this.#settings.isClean;
		if (isClean) {
			try {
				const clean = isClean(end);
				if (typeof clean === 'boolean' && clean !== end.clean) end = Object.freeze({ ...end, clean });
			} catch (error) {
				logger.error('isClean() threw [userId:%s]: %o; keeping clean:%s', this.userId, error, end.clean);
			}
		}
		this.#end = end;
		logger.debug('session ended [userId:%s, kind:%s, clean:%s, detail:%s]', this.userId, this.kind, end.clean, raw.detail);

		if (end.clean) {
			this.#state = 'closed';
			this.#owner.settle(this, 'signaling-closed', raw.detail, now - lastSignAt);
			return true;
		}
		this.#state = 'grace';
		const graceMs = this.#settings.graceMs;
		this.#grace.arm(graceMs, () => {
			if (this.#state !== 'grace') return;
			this.#state = 'lost';
			logger.debug('grace over [userId:%s, graceMs:%d]', this.userId, graceMs);
			this.#owner.settle(
				this,
				'signaling-lost',
				`${raw.detail}; no new session bound within ${graceMs} ms`,
				this.#owner.clock.now() - lastSignAt,
			);
		});
		return true;
	}
}
