import { type Deadline, TimerSlot } from '../clock.js';
import { IceRestartDeniedError, IceRestartFailedError } from '../errors.js';
import { ProducerScores } from '../liveness/hints.js';
import { Logger } from '../logger.js';
import { CLEAN_REASONS } from '../reasons.js';
import type {
	CloseInfo,
	CloseReason,
	IceParametersLike,
	IceRestartDenialReason,
	TransportWatch,
	TransportWatchEvents,
	WatchableTransport,
	WatchState,
	WorkerLike,
} from '../types.js';
import { DeliveringEmitter } from './delivery.js';
import type { TerminateOptions, WatchHandleInternal, WatchHost } from './host.js';
import { isIceLive, RestartFollowUp, type RestartingWatch } from './restart-follow-up.js';

const logger = new Logger('TransportWatch');

/** Options the watchdog passes when it creates a watch. */
export interface TransportWatchInit {
	readonly userId: string | undefined;
	readonly worker: WorkerLike | undefined;
	readonly signal: AbortSignal | undefined;
}

/**
 * The state machine of one watched WebRtcTransport:
 * `connecting → connected ⇄ disconnected / restarting → closed` (or `stopped`).
 * Every path out goes through `#end()`, which records exactly one reason.
 */
export class TransportWatchImpl<Transport extends WatchableTransport<unknown>>
	extends DeliveringEmitter<TransportWatchEvents>
	implements TransportWatch<Transport & WatchableTransport>, WatchHandleInternal, RestartingWatch
{
	readonly transportId: string;
	readonly userId: string | undefined;

	readonly #host: WatchHost;
	#transport: Transport | undefined;
	#worker: WorkerLike | undefined;
	/** The producers' `score` listeners (liveness hints), made at the first `newproducer`. */
	#producerScores: ProducerScores | undefined;
	#signal: AbortSignal | undefined;
	#state: WatchState = 'connecting';
	#closeReason: CloseReason | undefined;
	#connectedOnce = false;
	#timeToConnectMs: number | null = null;
	readonly #startedAt: number;
	#disconnectedAt = 0;
	#restartInFlight: Promise<IceParametersLike> | undefined;
	/** Made at the first granted restart: most watches never restart. */
	#followUp: RestartFollowUp | undefined;
	/** Set by `routerclose` / `listenserverclose` just before the observer's `close`. */
	#externalCloseReason: CloseReason | undefined;

	#connectDeadline: Deadline<void> | undefined;
	/** Created on first arm: most watches never disconnect nor restart. */
	#graceTimer: TimerSlot | undefined;

	/** Created on first access of `closed`; settled with `#closeInfo` when the end is announced. */
	#closed: Promise<CloseInfo> | undefined;
	#resolveClosed: ((info: CloseInfo) => void) | undefined;
	#closeInfo: CloseInfo | undefined;

	/**
	 * The listeners this watch added, to remove exactly those. Assigned in the constructor, not as
	 * arrow-function class fields: V8 names those at run time, which gives each its own property
	 * dictionary (~290 B per listener).
	 */
	readonly #onIceStateChange: (iceState: string) => void;
	readonly #onDtlsStateChange: (dtlsState: string) => void;
	readonly #onTupleChange: (tuple: unknown) => void;
	readonly #onClose: () => void;
	readonly #onRouterClose: () => void;
	readonly #onListenServerClose: () => void;
	readonly #onNewProducer: (producer: unknown) => void;
	#onAbort: (() => void) | undefined;

	constructor(transport: Transport, host: WatchHost, init: TransportWatchInit) {
		super();
		this.#host = host;
		this.#transport = transport;
		this.transportId = transport.id;
		this.userId = init.userId;
		this.#worker = init.worker;
		this.#signal = init.signal;
		this.#startedAt = host.clock.now();
		this.#onIceStateChange = (iceState) => this.#onIceState(iceState);
		this.#onDtlsStateChange = (dtlsState) => this.#onDtlsState(dtlsState);
		this.#onTupleChange = (tuple) => this.#onSelectedTupleChange(tuple);
		this.#onClose = () => this.#onTransportClosed();
		this.#onRouterClose = () => {
			this.#externalCloseReason = this.#worker?.died ? 'worker-died' : 'router-closed';
		};
		this.#onListenServerClose = () => {
			this.#externalCloseReason = 'listen-server-closed';
		};
		this.#onNewProducer = (producer) => {
			this.#producerScores ??= new ProducerScores(() => this.#host.hint?.(this, 'producer-score'));
			this.#producerScores.add(producer);
		};

		transport.observer.on('icestatechange', this.#onIceStateChange);
		transport.observer.on('dtlsstatechange', this.#onDtlsStateChange);
		transport.observer.on('iceselectedtuplechange', this.#onTupleChange);
		transport.observer.on('close', this.#onClose);
		transport.on('routerclose', this.#onRouterClose);
		transport.on('listenserverclose', this.#onListenServerClose);
		transport.observer.on('newproducer', this.#onNewProducer);
		if (init.signal) {
			this.#onAbort = (): void => this.stop();
			init.signal.addEventListener('abort', this.#onAbort, { once: true });
		}
		logger.debug(
			'constructor() [transportId:%s, userId:%s, iceState:%s, dtlsState:%s]',
			this.transportId,
			this.userId,
			transport.iceState,
			transport.dtlsState,
		);
	}

	/** Applies the transport's current state and arms the deadline. Called once by the watchdog. */
	start(): void {
		const transport = this.#transport;
		if (!transport) return;
		if (this.#signal?.aborted) {
			this.stop();
			return;
		}
		if (transport.dtlsState === 'connected') {
			// Watched after it connected: no deadline, and no `connect` event.
			this.#connectedOnce = true;
			this.#timeToConnectMs = 0;
			this.#setState('connected');
			if (transport.iceState === 'disconnected') this.#onIceState('disconnected');
			return;
		}
		if (transport.dtlsState === 'failed') {
			queueMicrotask(() => this.#end('dtls-failed', { closeTransport: true, detail: 'DTLS had already failed when watched' }));
			return;
		}
		if (transport.dtlsState === 'closed') {
			queueMicrotask(() => this.#end('dtls-closed', { closeTransport: true, detail: 'DTLS was already closed when watched' }));
			return;
		}
		this.#armConnectDeadline();
	}

	/* ---------------------------------------------------------------- public API */

	get transport(): (Transport & WatchableTransport) | undefined {
		return this.#transport as (Transport & WatchableTransport) | undefined;
	}

	get activeTransport(): WatchableTransport<unknown> | undefined {
		return this.#transport;
	}

	get worker(): WorkerLike | undefined {
		return this.#worker;
	}

	get state(): WatchState {
		return this.#state;
	}

	get connectedOnce(): boolean {
		return this.#connectedOnce;
	}

	get closeReason(): CloseReason | undefined {
		return this.#closeReason;
	}

	get closed(): Promise<CloseInfo> {
		if (!this.#closed) {
			const info = this.#closeInfo;
			this.#closed = info
				? Promise.resolve(info)
				: new Promise((resolve) => {
						this.#resolveClosed = resolve;
					});
		}
		return this.#closed;
	}

	restartIce(): Promise<IceParametersLike> {
		if (this.#restartInFlight) return this.#restartInFlight;
		const request = this.#restartIce().finally(() => {
			this.#restartInFlight = undefined;
		});
		this.#restartInFlight = request;
		return request;
	}

	close(detail?: string): void {
		this.#end('app', { closeTransport: true, detail });
	}

	stop(): void {
		this.#end('stopped', { closeTransport: false });
	}

	[Symbol.dispose](): void {
		this.stop();
	}

	terminate(reason: Exclude<CloseReason, 'stopped'>, options: TerminateOptions = {}): void {
		this.#end(reason, { closeTransport: true, detail: options.detail, detectionMs: options.detectionMs });
	}

	/* ---------------------------------------------------------------- connect deadline */

	#armConnectDeadline(): void {
		const ms = this.#host.policy.connectTimeoutMs;
		if (ms === Number.POSITIVE_INFINITY) return;
		// Ends the watch itself (no `.then()` on the deadline: one promise and closure less per
		// connecting watch). `#end()` does not throw: listeners run in their own try/catch.
		this.#connectDeadline = this.#host.timeouts.after(ms, () => this.#onConnectDeadline(ms));
	}

	#onConnectDeadline(ms: number): void {
		if (this.#state !== 'connecting') return;
		logger.debug('connect deadline reached [transportId:%s, connectTimeoutMs:%d]', this.transportId, ms);
		this.#end('connect-timeout', {
			closeTransport: true,
			detail: `DTLS not connected within ${ms} ms (iceState:${this.#transport?.iceState}, dtlsState:${this.#transport?.dtlsState})`,
		});
	}

	#clearConnectDeadline(): void {
		this.#connectDeadline?.clear();
		this.#connectDeadline = undefined;
	}

	/* ---------------------------------------------------------------- mediasoup events */

	#onDtlsState(dtlsState: string): void {
		logger.debug('dtlsstatechange [transportId:%s, dtlsState:%s, state:%s]', this.transportId, dtlsState, this.#state);
		switch (dtlsState) {
			case 'connected': {
				if (this.#state !== 'connecting') return;
				this.#connectedOnce = true;
				const timeToConnectMs = this.#host.clock.now() - this.#startedAt;
				this.#timeToConnectMs = timeToConnectMs;
				this.#clearConnectDeadline();
				this.#setState('connected');
				this.deliver(() => this.#host.connected(this, timeToConnectMs));
				this.safeEmit('connect', { timeToConnectMs });
				return;
			}
			case 'failed':
				this.#end('dtls-failed', { closeTransport: true, detectionMs: 0 });
				return;
			case 'closed':
				this.#end('dtls-closed', { closeTransport: true, detail: 'the client sent a DTLS close_notify', detectionMs: 0 });
				return;
			default:
				return;
		}
	}

	#onIceState(iceState: string): void {
		logger.debug('icestatechange [transportId:%s, iceState:%s, state:%s]', this.transportId, iceState, this.#state);
		const live = isIceLive(iceState);
		if (iceState === 'disconnected') {
			if (this.#state === 'restarting') this.#followUp?.iceDown();
			if (this.#state !== 'connected') return; // connecting: the deadline rules; restarting: suspended
			if (isConsentExpiry(this.#transport)) {
				// Only mediasoup's own consent check (3.13.20+) drops a UDP tuple: the client sent no
				// STUN Binding request for the transport's `iceConsentTimeout`. That is evidence of its
				// silence already; no grace on top.
				this.#end('ice-disconnected', { closeTransport: true, detail: CONSENT_EXPIRED_DETAIL, detectionMs: null });
				return;
			}
			this.#disconnectedAt = this.#host.clock.now();
			const graceMs = this.#host.policy.disconnectGraceMs;
			// Armed before the state change: a `statechange` listener that ends the watch clears it.
			this.#graceTimer ??= new TimerSlot(this.#host.clock);
			this.#graceTimer.arm(graceMs, () => {
				this.#end('ice-disconnected', {
					closeTransport: true,
					detail: `ICE disconnected for ${graceMs} ms`,
					// At least the grace: the timer fired (performance.now() may lag the timers' clock by µs).
					detectionMs: Math.max(graceMs, this.#host.clock.now() - this.#disconnectedAt),
				});
			});
			this.#setState('disconnected');
			this.safeEmit('disconnect', { iceState, graceMs });
			return;
		}
		if (live && this.#state === 'disconnected') {
			this.#graceTimer?.clear();
			this.#setState('connected');
			this.safeEmit('reconnect', { afterMs: this.#host.clock.now() - this.#disconnectedAt, afterRestart: false });
			return;
		}
		if (live && this.#state === 'restarting') this.#followUp?.iceLive();
	}

	#onSelectedTupleChange(tuple: unknown): void {
		if (this.#state === 'restarting') this.#followUp?.tupleChanged(tuple);
	}

	#onTransportClosed(): void {
		const reason = this.#externalCloseReason ?? 'transport-closed';
		logger.debug('transport closed outside the watchdog [transportId:%s, reason:%s]', this.transportId, reason);
		this.#end(reason, { closeTransport: false });
	}

	/* ---------------------------------------------------------------- ICE restart */

	/** The restart gate (its checks and their order: gate/restart-gate.ts), then mediasoup's restartIce(). */
	async #restartIce(): Promise<IceParametersLike> {
		const transport = this.#transport;
		logger.debug('restartIce() [transportId:%s, userId:%s, state:%s]', this.transportId, this.userId, this.#state);
		const refused = this.#host.precheckRestart(!transport || this.#isEnded, this.#connectedOnce);
		if (refused !== undefined || !transport) throw this.#deny(refused ?? 'closed', null);
		logger.debug('restartIce() connected once, asking the per-user limit [transportId:%s]', this.transportId);
		const decision = await this.#host.decideRestart(this.userId);
		if (this.#isEnded) throw this.#deny('closed', null);
		if (!decision.allowed) throw this.#deny(decision.reason, decision.retryAfterMs, decision.cause);

		let iceParameters: IceParametersLike;
		try {
			iceParameters = await transport.restartIce();
		} catch (error) {
			if (this.#isEnded) throw this.#deny('closed', null, error);
			logger.error('restartIce() failed in mediasoup [transportId:%s]: %o', this.transportId, error);
			throw new IceRestartFailedError(this.transportId, { cause: error });
		}
		if (this.#isEnded) throw this.#deny('closed', null);
		logger.debug('restartIce() granted [transportId:%s, userId:%s]', this.transportId, this.userId);
		if (this.#connectedOnce) this.#enterRestarting(transport);
		const event = { outcome: 'granted', iceParameters } as const;
		this.deliver(() => this.#host.restartDecided(this, event));
		this.safeEmit('icerestart', event);
		return iceParameters;
	}

	#deny(reason: IceRestartDenialReason, retryAfterMs: number | null, cause?: unknown): IceRestartDeniedError {
		logger.debug('restartIce() denied [transportId:%s, userId:%s, reason:%s]', this.transportId, this.userId, reason);
		const event = { outcome: 'denied', reason, retryAfterMs } as const;
		this.deliver(() => this.#host.restartDecided(this, event));
		// `close` is a handle's last event: a `close` listener calling restartIce() gets the rejection
		// (and the observer the decision), not one more event.
		if (!this.#isEnded) this.safeEmit('icerestart', event);
		return new IceRestartDeniedError(
			{ reason, retryAfterMs, transportId: this.transportId, userId: this.userId },
			cause === undefined ? undefined : { cause },
		);
	}

	#enterRestarting(transport: Transport): void {
		this.#graceTimer?.clear();
		this.#followUp ??= new RestartFollowUp(this, this.#host);
		this.#followUp.start(transport);
		this.#setState('restarting');
	}

	/* ---------------------------------------------------------------- RestartingWatch */

	restartFollowed(afterMs: number): void {
		this.#setState('connected');
		this.safeEmit('reconnect', { afterMs, afterRestart: true });
	}

	restartIgnored(): void {
		this.#setState('connected');
	}

	restartTimedOut(detail: string, detectionMs: number): void {
		this.#end('restart-timeout', { closeTransport: true, detail, detectionMs });
	}

	/* ---------------------------------------------------------------- state and the one close path */

	/** True from the moment `#end()` records a reason. */
	get #isEnded(): boolean {
		return this.#closeReason !== undefined;
	}

	/**
	 * An app listener on this watch threw: the watchdog's observer hears of it too
	 * (`watchlistenererror`). Called only from inside `safeEmit()`, so already counted as delivering.
	 */
	protected override listenerThrew(event: keyof TransportWatchEvents & string, error: unknown): void {
		this.#host.listenerThrew(this, event, error);
	}

	#setState(to: WatchState): void {
		const from = this.#state;
		if (from === to || this.#isEnded) return;
		this.#state = to;
		this.#announceState(from, to);
	}

	#announceState(from: WatchState, to: WatchState): void {
		logger.debug('state [transportId:%s, %s → %s]', this.transportId, from, to);
		this.deliver(() => this.#host.stateChanged(this, from, to));
		this.safeEmit('statechange', { from, to });
	}

	#end(
		reason: CloseReason,
		options: { closeTransport: boolean; detail?: string | undefined; detectionMs?: number | null | undefined },
	): void {
		// `#closeReason` is set before anything else happens, so an ending that starts while this one
		// is under way (an app listener on `transport.observer` 'close' calling `watch.close()` or
		// `closeUser()` as the transport.close() below fires it) is a no-op: one reason, one `close`.
		if (this.#isEnded) return;
		this.#closeReason = reason;
		const from = this.#state;
		const transport = this.#transport;
		const closedByWatchdog = options.closeTransport && transport !== undefined && !transport.closed;
		logger.debug(
			'end() [transportId:%s, reason:%s, state:%s, closedByWatchdog:%s]',
			this.transportId,
			reason,
			this.#state,
			closedByWatchdog,
		);

		// Release everything first, so closing the transport below cannot re-enter this watch.
		this.#clearConnectDeadline();
		this.#graceTimer?.clear();
		this.#followUp?.clear();
		if (transport) {
			transport.observer.off('icestatechange', this.#onIceStateChange);
			transport.observer.off('dtlsstatechange', this.#onDtlsStateChange);
			transport.observer.off('iceselectedtuplechange', this.#onTupleChange);
			transport.observer.off('close', this.#onClose);
			transport.off('routerclose', this.#onRouterClose);
			transport.off('listenserverclose', this.#onListenServerClose);
		}
		if (this.#onAbort) this.#signal?.removeEventListener('abort', this.#onAbort);
		this.#onAbort = undefined;
		transport?.observer.off('newproducer', this.#onNewProducer);
		this.#producerScores?.release();
		this.#producerScores = undefined;
		this.#transport = undefined;
		this.#worker = undefined;
		this.#signal = undefined;

		if (closedByWatchdog) {
			try {
				transport.close();
			} catch (error) {
				logger.error('transport.close() threw [transportId:%s]: %o', this.transportId, error);
			}
		}

		const info: CloseInfo = Object.freeze({
			reason,
			clean: CLEAN_REASONS[reason],
			closedByWatchdog,
			transportId: this.transportId,
			userId: this.userId,
			connectedOnce: this.#connectedOnce,
			timeToConnectMs: this.#timeToConnectMs,
			durationMs: this.#host.clock.now() - this.#startedAt,
			detectionMs: options.detectionMs ?? null,
			detail: options.detail,
		});
		const to = reason === 'stopped' ? 'stopped' : 'closed';
		this.#state = to;
		const announce = (): void => {
			this.#announceState(from, to);
			this.deliver(() => this.#host.ended(this, info));
			if (reason !== 'stopped') this.safeEmit('close', info);
			this.#closeInfo = info;
			this.#resolveClosed?.(info);
			this.#resolveClosed = undefined;
			this.removeAllListeners();
		};
		// The ending takes effect now; its events follow an event being delivered.
		this.announceAfterDelivery(announce);
	}
}

/**
 * The `detail` of an `ice-disconnected` close decided by mediasoup's own ICE consent check: its ICE
 * went `'disconnected'` on a UDP tuple, which only that check does (mediasoup 3.13.20+).
 */
export const CONSENT_EXPIRED_DETAIL =
	"mediasoup's ICE consent check expired: no STUN Binding request from the client within the transport's iceConsentTimeout";

/**
 * Whether an ICE `'disconnected'` of this transport is mediasoup's consent check expiring: its last
 * selected tuple (mediasoup keeps it through `'disconnected'`) was UDP, which nothing else drops,
 * on a mediasoup that checks consent. Its transports say so by their `type` (3.15+; consent came in
 * 3.13.20, on by default). On older versions, or over TCP (a closed connection drops a TCP tuple
 * too), the disconnect grace applies.
 */
function isConsentExpiry(transport: unknown): boolean {
	const t = transport as { type?: unknown; iceSelectedTuple?: { protocol?: unknown } } | undefined;
	return t?.type === 'webrtc' && t.iceSelectedTuple?.protocol === 'udp';
}
