// One shared scheduler per watchdog: polls getStats() of connected transports round-robin,
// spread evenly over time and within a budget of worker requests per second, and closes with
// `inactive` those the judge finds silent. docs/liveness.md explains the rules and the numbers.
import type { Clock, TimerHandle } from '../clock.js';
import { Logger } from '../logger.js';
import type { WatchableTransport, WatchdogPolicy } from '../types.js';
import type { WatchHandleInternal } from '../watch/host.js';
import { carriesMedia, readSample, TransportJudge, type Verdict } from './judge.js';

const logger = new Logger('Liveness');

/** Shortest time between two ticks; above 100 requests/s several polls share a tick. */
export const MIN_TICK_MS = 10;
/** A getStats() or dump() not settled after this long marks its transport as stalled. */
export const STATS_TIMEOUT_MS = 5_000;

/** What `snapshot().liveness` reports. */
export interface LivenessStats {
	/** Transports currently polled (connected ones). */
	readonly tracked: number;
	/** Worker requests per second the scheduler is sending at the current load. */
	readonly requestsPerSecond: number;
	/** Milliseconds between two polls of one transport at the current load. */
	readonly pollIntervalMs: number;
	/** Worst case from a client's last packet to its `inactive` close, for a transport judged at `inactivityTimeoutMs`. */
	readonly detectionBoundMs: number;
	/** Transports judged with a longer bound because their client is naturally quieter. */
	readonly slowCadence: number;
	/** Transports that never carried RTP, judged on the worker's consent replies too (WebRtcServer). */
	readonly echo: number;
	/** Transports silent past their bound that cannot be judged right now (see docs/liveness.md). */
	readonly unjudged: number;
	/** Transports whose getStats()/dump() has not answered within 5 s. */
	readonly stalled: number;
	/** getStats()/dump() failures on open transports since the watchdog started. */
	readonly statsErrors: number;
}

interface Entry {
	readonly watch: WatchHandleInternal;
	readonly judge: TransportJudge;
	removed: boolean;
	/** When the last request was sent (-Infinity: never, so due at once). */
	polledAt: number;
	/** When the in-flight request was sent; undefined when none. */
	pendingSince: number | undefined;
	stalled: boolean;
	/** Why the transport cannot be judged right now, if so. */
	unjudged: string | undefined;
}

type Dumpable = WatchableTransport<unknown> & { dump?: () => Promise<unknown> };

/** One shared scheduler per watchdog that polls getStats() of connected transports. */
export class LivenessScheduler {
	readonly #policy: WatchdogPolicy<never>;
	readonly #clock: Clock;
	readonly #timeoutMs: number;
	readonly #entries = new Map<WatchHandleInternal, Entry>();
	readonly #pending = new Set<Entry>();
	/** Transports with a request in flight: never a second one, even across re-tracking. */
	readonly #busy = new WeakSet<object>();
	#cursor: Iterator<Entry> | undefined;
	#current: Entry | undefined;
	#timer: TimerHandle | undefined;
	#lastTickAt = 0;
	#dueAt = 0;
	#credit = 0;
	/** Requests per millisecond at the current load. */
	#rate = 0;
	#tickMs = 0;
	#periodMs: number;
	#loggedPeriodMs = 0;
	#statsErrors = 0;

	constructor(policy: WatchdogPolicy<never>, clock: Clock) {
		this.#policy = policy;
		this.#clock = clock;
		this.#timeoutMs = policy.inactivityTimeoutMs;
		this.#periodMs = policy.liveness.pollIntervalMs;
	}

	/** Starts polling a watch that entered `connected`. */
	track(watch: WatchHandleInternal): void {
		if (this.#timeoutMs === Number.POSITIVE_INFINITY || this.#entries.has(watch)) return;
		const entry: Entry = {
			watch,
			judge: new TransportJudge(this.#timeoutMs, this.#clock.now()),
			removed: false,
			polledAt: Number.NEGATIVE_INFINITY,
			pendingSince: undefined,
			stalled: false,
			unjudged: undefined,
		};
		this.#entries.set(watch, entry);
		this.#resize();
	}

	/** Stops polling a watch that left `connected` or ended. Idempotent. */
	untrack(watch: WatchHandleInternal): void {
		const entry = this.#entries.get(watch);
		if (!entry) return;
		entry.removed = true;
		this.#entries.delete(watch);
		this.#pending.delete(entry);
		this.#resize();
	}

	stats(): LivenessStats {
		let slowCadence = 0;
		let echo = 0;
		let unjudged = 0;
		let stalled = 0;
		for (const entry of this.#entries.values()) {
			if (entry.judge.boundMs > this.#timeoutMs) slowCadence += 1;
			if (entry.judge.echo) echo += 1;
			if (entry.unjudged !== undefined) unjudged += 1;
			if (entry.stalled) stalled += 1;
		}
		return {
			tracked: this.#entries.size,
			requestsPerSecond: Math.round(this.#rate * 10_000) / 10,
			pollIntervalMs: round(this.#periodMs),
			detectionBoundMs: this.#detectionBoundMs(),
			slowCadence,
			echo,
			unjudged,
			stalled,
			statsErrors: this.#statsErrors,
		};
	}

	/** Stops polling everything; answers still in flight are ignored. */
	stop(): void {
		this.#clearTimer();
		for (const entry of this.#entries.values()) entry.removed = true;
		this.#entries.clear();
		this.#pending.clear();
		this.#cursor = undefined;
		this.#current = undefined;
		this.#rate = 0;
	}

	/* ---------------------------------------------------------------- pacing */

	/** Recomputes the rate for the number of tracked transports; arms or clears the timer. */
	#resize(): void {
		const count = this.#entries.size;
		const { maxStatsRequestsPerSecond, pollIntervalMs } = this.#policy.liveness;
		if (count === 0) {
			this.#clearTimer();
			this.#cursor = undefined;
			this.#current = undefined;
			this.#rate = 0;
			this.#periodMs = pollIntervalMs;
			return;
		}
		this.#rate = Math.min(maxStatsRequestsPerSecond / 1000, count / pollIntervalMs);
		this.#periodMs = count / this.#rate;
		this.#tickMs = Math.max(MIN_TICK_MS, 1 / this.#rate);
		const changed = Math.abs(this.#periodMs - this.#loggedPeriodMs) >= 0.1 * this.#loggedPeriodMs;
		if (changed && logger.debug.enabled) {
			this.#loggedPeriodMs = this.#periodMs;
			logger.debug(
				'rate() [tracked:%d, pollIntervalMs:%d, requestsPerSecond:%d, detectionBoundMs:%d, budgetLimited:%s]',
				count,
				round(this.#periodMs),
				Math.round(this.#rate * 10_000) / 10,
				this.#detectionBoundMs(),
				this.#periodMs > pollIntervalMs,
			);
		}
		const now = this.#clock.now();
		if (this.#timer === undefined) {
			this.#lastTickAt = now;
			this.#credit = 0;
			this.#armTimer(now);
		} else if (this.#dueAt - now > this.#tickMs) {
			// More transports: poll sooner than the tick armed for fewer.
			this.#clearTimer();
			this.#armTimer(now);
		}
	}

	#detectionBoundMs(): number {
		if (this.#timeoutMs === Number.POSITIVE_INFINITY) return Number.POSITIVE_INFINITY;
		const period = this.#periodMs;
		return round(Math.ceil(this.#timeoutMs / period - 1e-9) * period + period);
	}

	#armTimer(now: number): void {
		this.#dueAt = now + this.#tickMs;
		this.#timer = this.#clock.setTimeout(() => {
			this.#timer = undefined;
			this.#tick();
		}, this.#tickMs);
	}

	#clearTimer(): void {
		if (this.#timer === undefined) return;
		this.#clock.clearTimeout(this.#timer);
		this.#timer = undefined;
	}

	/**
	 * Polls the transports that are due, round-robin (so in the order they were last polled), at
	 * most an even share per tick, and never beyond the budget of requests per second.
	 */
	#tick(): void {
		const now = this.#clock.now();
		const budgetRate = this.#policy.liveness.maxStatsRequestsPerSecond / 1000;
		const burst = Math.max(1, budgetRate * this.#tickMs);
		// No catch-up after a stalled event loop: the budget holds over any window.
		this.#credit = Math.min(this.#credit + (now - this.#lastTickAt) * budgetRate, burst);
		this.#lastTickAt = now;
		try {
			this.#sweepPending(now);
			let share = Math.max(1, Math.round(this.#rate * this.#tickMs));
			let scans = Math.min(this.#entries.size, 4 * share + 8);
			while (share > 0 && this.#credit >= 1 && scans > 0) {
				scans -= 1;
				const entry = this.#peek();
				if (!entry) break;
				// Not due yet (half a tick early is on time: ticks and periods need not align exactly).
				if (entry.pendingSince === undefined && now - entry.polledAt < this.#periodMs - this.#tickMs / 2) break;
				this.#advance();
				if (entry.pendingSince !== undefined) continue;
				if (this.#poll(entry, now)) {
					this.#credit -= 1;
					share -= 1;
				}
			}
		} catch (error) {
			logger.error('tick() failed: %o', error);
		}
		if (this.#entries.size > 0 && this.#timer === undefined) this.#armTimer(now);
	}

	/** The entry the round-robin cursor is on; Map iterators follow insertions and deletions. */
	#peek(): Entry | undefined {
		if (this.#entries.size === 0) return undefined;
		if (this.#current === undefined || this.#current.removed) this.#advance();
		return this.#current;
	}

	#advance(): void {
		let step = this.#cursor?.next();
		if (!step || step.done) {
			this.#cursor = this.#entries.values();
			step = this.#cursor.next();
		}
		this.#current = step.done ? undefined : step.value;
	}

	#sweepPending(now: number): void {
		for (const entry of this.#pending) {
			if (entry.stalled || entry.pendingSince === undefined || now - entry.pendingSince < STATS_TIMEOUT_MS) continue;
			entry.stalled = true;
			logger.warn(
				'poll() no answer from the worker [transportId:%s, waitedMs:%d]: not polling it again until it answers',
				entry.watch.transportId,
				round(now - entry.pendingSince),
			);
		}
	}

	/* ---------------------------------------------------------------- requests */

	/** Sends getStats() for `entry`; false when nothing was sent. */
	#poll(entry: Entry, now: number): boolean {
		const transport = entry.watch.activeTransport;
		if (!transport || transport.closed || this.#busy.has(transport)) return false;
		entry.polledAt = now;
		this.#request(entry, transport, now, 'getStats', () => transport.getStats()).then((stats) => {
			if (stats === undefined) return;
			const sample = readSample(stats.value, now, this.#clock.now());
			if (!sample) {
				this.#apply(entry, transport, { kind: 'unjudged', reason: 'getStats() gave no bytesReceived' });
				return;
			}
			const v = entry.judge.observe(sample);
			logger.debug('TMP observe [transportId:%s, sentAt:%d, bytes:%d, reply:%s, media:%s, v:%o, echo:%s]', entry.watch.transportId.slice(0,4), now, sample.bytesReceived, sample.replyBytes, sample.mediaBytes, v, entry.judge.echo);
			this.#apply(entry, transport, v);
		});
		return true;
	}

	/**
	 * Sends one request and settles it into `{ value }`, or `undefined` when it failed or the
	 * entry was untracked meanwhile. Never rejects.
	 */
	#request(
		entry: Entry,
		transport: WatchableTransport<unknown>,
		now: number,
		method: string,
		send: () => Promise<unknown>,
	): Promise<{ value: unknown } | undefined> {
		entry.pendingSince = now;
		this.#busy.add(transport);
		this.#pending.add(entry);
		let request: Promise<unknown>;
		try {
			request = send();
		} catch (error) {
			request = Promise.reject(error);
		}
		const settle = (): void => {
			this.#busy.delete(transport);
			this.#pending.delete(entry);
			entry.pendingSince = undefined;
			entry.stalled = false;
		};
		return request.then(
			(value) => {
				settle();
				return entry.removed ? undefined : { value };
			},
			(error: unknown) => {
				settle();
				if (entry.removed || transport.closed) {
					// The transport, its router or its worker closed meanwhile: not an error.
					logger.debug('%s() failed on a closing transport [transportId:%s]', method, entry.watch.transportId);
				} else {
					this.#statsErrors += 1;
					logger.warn('%s() failed [transportId:%s]: %o', method, entry.watch.transportId, error);
				}
				return undefined;
			},
		);
	}

	#apply(entry: Entry, transport: WatchableTransport<unknown>, verdict: Verdict): void {
		if (entry.removed) return;
		switch (verdict.kind) {
			case 'alive':
				entry.unjudged = undefined;
				return;
			case 'inactive': {
				const detectionMs = round(this.#clock.now() - verdict.lastSignAt);
				const detail = `no sign of life for ${detectionMs} ms (bound ${round(verdict.boundMs)} ms, polled every ${round(this.#periodMs)} ms)`;
				logger.debug('inactive [transportId:%s, detectionMs:%d, boundMs:%d]', entry.watch.transportId, detectionMs, verdict.boundMs);
				entry.watch.terminate('inactive', { detail, detectionMs });
				return;
			}
			case 'unjudged':
				if (entry.unjudged !== verdict.reason) {
					logger.warn(
						'cannot judge [transportId:%s, reason:%s]: silent inbound bytes, moving replies; left open',
						entry.watch.transportId,
						verdict.reason,
					);
				}
				entry.unjudged = verdict.reason;
				return;
			case 'check-media':
				this.#checkMedia(entry, transport as Dumpable);
				return;
		}
	}

	/** Asks the worker whether the transport has producers or consumers (one dump(), counted in the budget). */
	#checkMedia(entry: Entry, transport: Dumpable): void {
		const dump = transport.dump;
		if (typeof dump !== 'function' || transport.closed) {
			this.#apply(entry, transport, { kind: 'unjudged', reason: 'the transport has no dump()' });
			return;
		}
		// Counted in the budget; the debt is repaid before the next poll.
		this.#credit -= 1;
		this.#request(entry, transport, this.#clock.now(), 'dump', () => dump.call(transport)).then((result) => {
			const present = result === undefined ? undefined : carriesMedia(result.value);
			if (present === undefined) {
				if (result !== undefined) logger.warn('dump() has no producerIds/consumerIds [transportId:%s]', entry.watch.transportId);
				return; // judged 'unknown' at the bound
			}
			logger.debug('checkMedia() [transportId:%s, present:%s]', entry.watch.transportId, present);
			this.#apply(entry, transport, entry.judge.mediaChecked(present));
		});
	}
}

function round(ms: number): number {
	return Math.round(ms);
}
