// After a granted ICE restart: did the client follow it? The signs (ICE back from down, a new
// selected tuple, an ICE-TCP tuple that stands), the deadline, and the verdict when it comes
// (followed, alive on its old credentials, or `restart-timeout`). One per watch, made at its first
// granted restart: most watches never restart.
import { type Deadline, TimerSlot } from '../clock.js';
import { Logger } from '../logger.js';
import type { WatchableTransport, WatchState } from '../types.js';
import type { WatchHost } from './host.js';

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
export const TUPLE_FALLBACK_MS = 100;

export const isIceLive = (iceState: string): boolean => iceState === 'connected' || iceState === 'completed';

/** What the follow-up needs from its watch. */
export interface RestartingWatch {
	readonly transportId: string;
	readonly state: WatchState;
	readonly activeTransport: WatchableTransport<unknown> | undefined;
	/** The client followed the restart, `afterMs` after it was granted: back to `connected` with a `reconnect`. */
	restartFollowed(afterMs: number): void;
	/** No sign of the restart, but the transport is alive on its old credentials: back to `connected`. */
	restartIgnored(): void;
	/** The restart's deadline passed without a sign of life: `restart-timeout`. */
	restartTimedOut(detail: string, detectionMs: number): void;
}

export class RestartFollowUp {
	readonly #watch: RestartingWatch;
	readonly #host: WatchHost;
	#startedAt = 0;
	#baselineBytes: Promise<number | undefined> | undefined;
	/** Bumped by each granted restart, so a deadline of an earlier one cannot act on a later one. */
	#generation = 0;
	/** ICE was not live at some point since the restart was granted, so its return is a reconnection. */
	#iceDownSinceStart = false;
	/** When the last new ICE-TCP tuple was selected during the restart, while it waits out TUPLE_FALLBACK_MS. */
	#tcpTupleAt: number | undefined;
	#tcpTupleTimer: TimerSlot | undefined;
	readonly #deadline: TimerSlot;
	/** getStats() requests in flight, whose 2 s timeout timers `clear()` clears (created on first use). */
	#statsRequests: Set<Deadline<unknown>> | undefined;

	constructor(watch: RestartingWatch, host: WatchHost) {
		this.#watch = watch;
		this.#host = host;
		this.#deadline = new TimerSlot(host.clock);
	}

	get #restarting(): boolean {
		return this.#watch.state === 'restarting';
	}

	/** A restart was granted: takes a byte baseline and arms the deadline (the watch then enters `restarting`). */
	start(transport: WatchableTransport<unknown>): void {
		this.#clearTcpTuple();
		this.#startedAt = this.#host.clock.now();
		this.#baselineBytes = this.#bytesReceived(transport);
		const generation = ++this.#generation;
		this.#iceDownSinceStart = !isIceLive(transport.iceState);
		const ms = this.#host.policy.iceRestart.reconnectTimeoutMs;
		this.#deadline.arm(ms, () => void this.#onDeadline(ms, generation));
	}

	/** ICE went `'disconnected'` while restarting. */
	iceDown(): void {
		// The new TCP tuple was mediasoup falling back to another closing connection.
		if (this.#tcpTupleAt !== undefined) {
			logger.debug('ICE disconnected right after a new TCP tuple: still restarting [transportId:%s]', this.#watch.transportId);
		}
		this.#clearTcpTuple();
		this.#iceDownSinceStart = true;
	}

	/**
	 * ICE is live while restarting. `connected` → `completed` while it never went down is no sign of
	 * the restart (Chromium nominates on its own schedule): only a return from `disconnected` counts,
	 * or ICE staying live on a new TCP tuple.
	 */
	iceLive(): void {
		if (this.#iceDownSinceStart) this.#followed('icestatechange');
		else if (this.#tcpTupleAt !== undefined) this.#followed('iceselectedtuplechange', this.#tcpTupleAt);
	}

	/** A new selected tuple while restarting. */
	tupleChanged(tuple: unknown): void {
		// Chromium follows a restart from new local ports: the server's only sign is a new tuple.
		const protocol = (tuple as { protocol?: unknown } | undefined)?.protocol;
		if (protocol !== 'tcp') {
			this.#followed('iceselectedtuplechange');
			return;
		}
		// Over TCP it may be mediasoup falling back to another closing connection instead: the
		// tuple counts once it has stood for TUPLE_FALLBACK_MS with ICE still up. A newer tuple
		// replaces a waiting one (its wait, and the time `reconnect` reports).
		const at = this.#host.clock.now();
		this.#tcpTupleAt = at;
		this.#tcpTupleTimer ??= new TimerSlot(this.#host.clock);
		this.#tcpTupleTimer.arm(TUPLE_FALLBACK_MS, () => {
			if (this.#restarting) this.#followed('iceselectedtuplechange', at);
		});
	}

	/** Releases every timer and stats request (the watch ended). */
	clear(): void {
		this.#deadline.clear();
		this.#clearTcpTuple();
		this.#baselineBytes = undefined;
		if (this.#statsRequests) for (const request of this.#statsRequests) request.clear();
		this.#statsRequests = undefined;
	}

	#clearTcpTuple(): void {
		this.#tcpTupleTimer?.clear();
		this.#tcpTupleAt = undefined;
	}

	/** @param since - when the sign came (a TCP tuple is confirmed TUPLE_FALLBACK_MS after it came). */
	#followed(via: string, since = this.#host.clock.now()): void {
		this.#deadline.clear();
		this.#clearTcpTuple();
		this.#baselineBytes = undefined;
		const afterMs = since - this.#startedAt;
		logger.debug('restart followed [transportId:%s, via:%s, afterMs:%d]', this.#watch.transportId, via, afterMs);
		this.#watch.restartFollowed(afterMs);
	}

	/**
	 * No sign that the client used the new credentials. mediasoup keeps accepting the old ones, so
	 * a client that ignored the restart but is still connected and sending is not dead: it goes back
	 * to `connected`. Anything else is a `restart-timeout`. (A client that follows the restart over
	 * the same tuple, as werift does, looks the same from the server: alive, no event.)
	 */
	async #onDeadline(ms: number, generation: number): Promise<void> {
		const transport = this.#watch.activeTransport;
		if (!transport || !this.#restarting) return;
		if (this.#tcpTupleAt !== undefined) {
			this.#awaitTcpTuple(ms, generation);
			return;
		}
		let iceState = transport.iceState;
		let bytes = '';
		if (isIceLive(iceState)) {
			const [before, after] = await Promise.all([this.#baselineBytes, this.#bytesReceived(transport)]);
			// A newer restart (or the end of the watch, or the client following it) took over while
			// stats were on their way.
			if (!this.#restarting || generation !== this.#generation) return;
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
					this.#watch.transportId,
				);
				this.#deadline.clear();
				this.#watch.restartIgnored();
				return;
			}
		}
		this.#watch.restartTimedOut(
			`ICE did not reconnect within ${ms} ms of the granted restart (iceState:${iceState}${bytes})`,
			// The deadline fired, so `ms` passed on the timers' clock; performance.now() may say a few
			// microseconds less (Node times its timers with the loop's millisecond clock).
			Math.max(ms, this.#host.clock.now() - this.#startedAt),
		);
	}

	/**
	 * The restart's deadline came while a new TCP tuple waits out TUPLE_FALLBACK_MS: the verdict
	 * waits for it. If the tuple stands, the restart was followed (and this timer cleared); if ICE
	 * goes down first, the deadline's verdict runs when this timer fires.
	 */
	#awaitTcpTuple(ms: number, generation: number): void {
		const leftMs = Math.max(1, (this.#tcpTupleAt ?? 0) + TUPLE_FALLBACK_MS - this.#host.clock.now());
		logger.debug('restart deadline waits for a new TCP tuple [transportId:%s, leftMs:%d]', this.#watch.transportId, leftMs);
		this.#deadline.arm(leftMs, () => void this.#onDeadline(ms, generation));
	}

	/** bytesReceived now, or undefined when stats fail or take longer than 2 s. */
	async #bytesReceived(transport: WatchableTransport<unknown>): Promise<number | undefined> {
		let request: Deadline<ReadonlyArray<{ bytesReceived?: number | undefined }>> | undefined;
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
}
