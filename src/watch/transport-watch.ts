import { type Deadline, TimerSlot } from '../clock.js';
import { SafeEmitter } from '../emitter.js';
import { IceRestartDeniedError, IceRestartFailedError } from '../errors.js';
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
import type { TerminateOptions, WatchHandleInternal, WatchHost } from './host.js';

const logger = new Logger('TransportWatch');

const noStats = (): [] => [];
/** How long the restart deadline waits for `getStats()` before it judges without bytes. */
const RESTART_STATS_TIMEOUT_MS = 2_000;
/**
 * How long a new ICE-TCP tuple selected during a restart must stand before it counts as the client
 * following the restart. When the client's TCP connections close one by one, mediasoup selects the
 * next (closing) tuple, then goes `'disconnected'` when none is left: measured with Chromium over
 * ICE-TCP, both notifications within 1 ms. A UDP tuple counts at once (UDP tuples do not close).
 */
const TUPLE_FALLBACK_MS = 100;

const isIceLive = (iceState: string): boolean => iceState === 'connected' || iceState === 'completed';

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
	extends SafeEmitter<TransportWatchEvents>
	implements TransportWatch<Transport & WatchableTransport>, WatchHandleInternal
{
	readonly transportId: string;
	readonly userId: string | undefined;

	readonly #host: WatchHost;
	#transport: Transport | undefined;
	#worker: WorkerLike | undefined;
	#signal: AbortSignal | undefined;
	#state: WatchState = 'connecting';
	#closeReason: CloseReason | undefined;
	#connectedOnce = false;
	#timeToConnectMs: number | null = null;
	readonly #startedAt: number;
	#disconnectedAt = 0;
	#restartStartedAt = 0;
	#restartBaselineBytes: Promise<number | undefined> | undefined;
	/** Bumped by each granted restart, so a deadline of an earlier one cannot act on a later one. */
	#restartGeneration = 0;
	/** ICE was not live at some point since the restart was granted, so its return is a reconnection. */
	#iceDownSinceRestart = false;
	/** When the last new ICE-TCP tuple was selected during the restart, while it waits out TUPLE_FALLBACK_MS. */
	#tcpTupleAt: number | undefined;
	#tcpTupleTimer: TimerSlot | undefined;
	#restartInFlight: Promise<IceParametersLike> | undefined;
	/** getStats() requests in flight, whose 2 s timeout timers the end of the watch clears (created on first use). */
	#statsRequests: Set<{ clear(): void }> | undefined;
	/** Set by `routerclose` / `listenserverclose` just before the observer's `close`. */
	#externalCloseReason: CloseReason | undefined;

	#connectDeadline: Deadline<void> | undefined;
	/** Created on first arm: most watches never disconnect nor restart. */
	#graceTimer: TimerSlot | undefined;
	#reconnectTimer: TimerSlot | undefined;

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

		transport.observer.on('icestatechange', this.#onIceStateChange);
		transport.observer.on('dtlsstatechange', this.#onDtlsStateChange);
		transport.observer.on('iceselectedtuplechange', this.#onTupleChange);
		transport.observer.on('close', this.#onClose);
		transport.on('routerclose', this.#onRouterClose);
		transport.on('listenserverclose', this.#onListenServerClose);
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
				this.#toHost(() => this.#host.connected(this, timeToConnectMs));
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
			if (this.#state === 'restarting') {
				// The new TCP tuple was mediasoup falling back to another closing connection.
				if (this.#tcpTupleAt !== undefined) {
					logger.debug('ICE disconnected right after a new TCP tuple: still restarting [transportId:%s]', this.transportId);
				}
				this.#clearTcpTuple();
				this.#iceDownSinceRestart = true;
			}
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
					detectionMs: this.#host.clock.now() - this.#disconnectedAt,
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
		// ICE `connected` → `completed` while it never went down is no sign of the restart (Chromium
		// nominates on its own schedule): only a return from `disconnected` counts here, or ICE
		// staying live on a new TCP tuple.
		if (!live || this.#state !== 'restarting') return;
		if (this.#iceDownSinceRestart) this.#restartFollowed('icestatechange');
		else if (this.#tcpTupleAt !== undefined) this.#restartFollowed('iceselectedtuplechange', this.#tcpTupleAt);
	}

	#onSelectedTupleChange(tuple: unknown): void {
		if (this.#state !== 'restarting') return;
		// Chromium follows a restart from new local ports: the server's only sign is a new tuple.
		const protocol = (tuple as { protocol?: unknown } | undefined)?.protocol;
		if (protocol !== 'tcp') {
			this.#restartFollowed('iceselectedtuplechange');
			return;
		}
		// Over TCP it may be mediasoup falling back to another closing connection instead: the
		// tuple counts once it has stood for TUPLE_FALLBACK_MS with ICE still up. A newer tuple
		// replaces a waiting one (its wait, and the time `reconnect` reports).
		const at = this.#host.clock.now();
		this.#tcpTupleAt = at;
		this.#tcpTupleTimer ??= new TimerSlot(this.#host.clock);
		this.#tcpTupleTimer.arm(TUPLE_FALLBACK_MS, () => {
			if (this.#state === 'restarting') this.#restartFollowed('iceselectedtuplechange', at);
		});
	}

	#clearTcpTuple(): void {
		this.#tcpTupleTimer?.clear();
		this.#tcpTupleAt = undefined;
	}

	#onTransportClosed(): void {
		const reason = this.#externalCloseReason ?? 'transport-closed';
		logger.debug('transport closed outside the watchdog [transportId:%s, reason:%s]', this.transportId, reason);
		this.#end(reason, { closeTransport: false });
	}

	/* ---------------------------------------------------------------- ICE restart */

	/**
	 * The gate, in order: closed → never connected once → per-user limit (the host's store). The
	 * first two are synchronous, so a request they refuse never spends the user's allowance.
	 */
	async #restartIce(): Promise<IceParametersLike> {
		const transport = this.#transport;
		logger.debug('restartIce() [transportId:%s, userId:%s, state:%s]', this.transportId, this.userId, this.#state);
		if (!transport || this.#isEnded) throw this.#deny('closed', null);
		if (this.#host.policy.iceRestart.requireConnectedOnce && !this.#connectedOnce) {
			throw this.#deny('never-connected', null);
		}
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
		this.#toHost(() => this.#host.restartDecided(this, event));
		this.safeEmit('icerestart', event);
		return iceParameters;
	}

	#deny(reason: IceRestartDenialReason, retryAfterMs: number | null, cause?: unknown): IceRestartDeniedError {
		logger.debug('restartIce() denied [transportId:%s, userId:%s, reason:%s]', this.transportId, this.userId, reason);
		const event = { outcome: 'denied', reason, retryAfterMs } as const;
		this.#toHost(() => this.#host.restartDecided(this, event));
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
		this.#clearTcpTuple();
		this.#restartStartedAt = this.#host.clock.now();
		this.#restartBaselineBytes = this.#bytesReceived(transport);
		const generation = ++this.#restartGeneration;
		this.#iceDownSinceRestart = !isIceLive(transport.iceState);
		const ms = this.#host.policy.iceRestart.reconnectTimeoutMs;
		this.#reconnectTimer ??= new TimerSlot(this.#host.clock);
		this.#reconnectTimer.arm(ms, () => void this.#onRestartDeadline(ms, generation));
		this.#setState('restarting');
	}

	/** @param since - when the sign came (a TCP tuple is confirmed TUPLE_FALLBACK_MS after it came). */
	#restartFollowed(via: string, since = this.#host.clock.now()): void {
		this.#reconnectTimer?.clear();
		this.#clearTcpTuple();
		this.#restartBaselineBytes = undefined;
		const afterMs = since - this.#restartStartedAt;
		logger.debug('restart followed [transportId:%s, via:%s, afterMs:%d]', this.transportId, via, afterMs);
		this.#setState('connected');
		this.safeEmit('reconnect', { afterMs, afterRestart: true });
	}

	/**
	 * No sign that the client used the new credentials. mediasoup keeps accepting the old ones, so
	 * a client that ignored the restart but is still connected and sending is not dead: it goes back
	 * to `connected`. Anything else is a `restart-timeout`. (A client that follows the restart over
	 * the same tuple, as werift does, looks the same from the server: alive, no event.)
	 */
	async #onRestartDeadline(ms: number, generation: number): Promise<void> {
		const transport = this.#transport;
		if (!transport || this.#state !== 'restarting') return;
		if (this.#tcpTupleAt !== undefined) {
			this.#awaitTcpTuple(ms, generation);
			return;
		}
		let iceState = transport.iceState;
		let bytes = '';
		if (isIceLive(iceState)) {
			const [before, after] = await Promise.all([this.#restartBaselineBytes, this.#bytesReceived(transport)]);
			// A newer restart (or the end of the watch, or the client following it) took over while
			// stats were on their way.
			if (this.#state !== 'restarting' || generation !== this.#restartGeneration) return;
			// A new TCP tuple came meanwhile: it decides.
			if (this.#tcpTupleAt !== undefined) {
				this.#awaitTcpTuple(ms, generation);
				return;
			}
			bytes = before === undefined || after === undefined ? ', stats unavailable' : `, bytesReceived ${before} → ${after}`;
			// ICE may have gone down meanwhile: bytes from before that are no sign of life now.
			iceState = transport.iceState;
			if (isIceLive(iceState) && before !== undefined && after !== undefined && after > before) {
				logger.debug(
					'restart not followed, but the transport is alive on its old credentials [transportId:%s]',
					this.transportId,
				);
				this.#reconnectTimer?.clear();
				this.#setState('connected');
				return;
			}
		}
		this.#end('restart-timeout', {
			closeTransport: true,
			detail: `ICE did not reconnect within ${ms} ms of the granted restart (iceState:${iceState}${bytes})`,
			detectionMs: this.#host.clock.now() - this.#restartStartedAt,
		});
	}

	/**
	 * The restart's deadline came while a new TCP tuple waits out TUPLE_FALLBACK_MS: the verdict
	 * waits for it. If the tuple stands, the restart was followed (and this timer cleared); if ICE
	 * goes down first, the deadline's verdict runs when this timer fires.
	 */
	#awaitTcpTuple(ms: number, generation: number): void {
		const leftMs = Math.max(1, (this.#tcpTupleAt ?? 0) + TUPLE_FALLBACK_MS - this.#host.clock.now());
		logger.debug('restart deadline waits for a new TCP tuple [transportId:%s, leftMs:%d]', this.transportId, leftMs);
		this.#reconnectTimer ??= new TimerSlot(this.#host.clock);
		this.#reconnectTimer.arm(leftMs, () => void this.#onRestartDeadline(ms, generation));
	}

	/** bytesReceived now, or undefined when stats fail or take longer than 2 s. */
	async #bytesReceived(transport: Transport): Promise<number | undefined> {
		let request: (Promise<ReadonlyArray<{ bytesReceived?: number | undefined }>> & { clear(): void }) | undefined;
		try {
			request = this.#host.timeouts.race(transport.getStats(), RESTART_STATS_TIMEOUT_MS, noStats);
			this.#statsRequests ??= new Set();
			this.#statsRequests.add(request);
			const stats = await request;
			return stats[0]?.bytesReceived;
		} catch {
			return undefined;
		} finally {
			if (request) this.#statsRequests?.delete(request);
		}
	}

	/* ---------------------------------------------------------------- state and the one close path */

	/** True from the moment `#end()` records a reason. */
	get #isEnded(): boolean {
		return this.#closeReason !== undefined;
	}

	/** How deep we are in handing an event to listeners (the handle's or, through the host, the observer's). */
	#delivering = 0;
	/** The announcement of an ending decided inside a listener, due on the next microtask. */
	#pendingAnnounce: (() => void) | undefined;

	/**
	 * Announces an ending decided inside a listener now rather than on the next microtask (the
	 * watchdog calls it before it watches the same transport again). No-op otherwise.
	 */
	announceEnd(): void {
		const announce = this.#pendingAnnounce;
		this.#pendingAnnounce = undefined;
		announce?.();
	}

	protected override safeEmit<K extends keyof TransportWatchEvents & string>(event: K, payload: TransportWatchEvents[K]): void {
		this.#delivering += 1;
		try {
			super.safeEmit(event, payload);
		} finally {
			this.#delivering -= 1;
		}
	}

	/**
	 * An app listener on this watch threw: the watchdog's observer hears of it too
	 * (`watchlistenererror`). Called only from inside `safeEmit()`, so already counted as delivering.
	 */
	protected override listenerThrew(event: keyof TransportWatchEvents & string, error: unknown): void {
		this.#host.listenerThrew(this, event, error);
	}

	/** Calls the host, which emits on the watchdog's observer: counts as delivering an event. */
	#toHost(call: () => void): void {
		this.#delivering += 1;
		try {
			call();
		} finally {
			this.#delivering -= 1;
		}
	}

	#setState(to: WatchState): void {
		const from = this.#state;
		if (from === to || this.#isEnded) return;
		this.#state = to;
		this.#announceState(from, to);
	}

	#announceState(from: WatchState, to: WatchState): void {
		logger.debug('state [transportId:%s, %s → %s]', this.transportId, from, to);
		this.#toHost(() => this.#host.stateChanged(this, from, to));
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
		this.#reconnectTimer?.clear();
		this.#clearTcpTuple();
		this.#restartBaselineBytes = undefined;
		if (this.#statsRequests) for (const request of this.#statsRequests) request.clear();
		this.#statsRequests = undefined;
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
			this.#toHost(() => this.#host.ended(this, info));
			if (reason !== 'stopped') this.safeEmit('close', info);
			this.#closeInfo = info;
			this.#resolveClosed?.(info);
			this.#resolveClosed = undefined;
			this.removeAllListeners();
		};
		// Ended from inside a listener (close()/stop()/closeUser() in a `statechange`, `connect`… of
		// this watch or of the observer): the ending takes effect now, and its events follow the event
		// being delivered, so every listener sees the events in the order the states changed.
		if (this.#delivering > 0) {
			this.#pendingAnnounce = announce;
			queueMicrotask(() => this.announceEnd());
		} else announce();
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
