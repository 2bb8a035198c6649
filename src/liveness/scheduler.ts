// One shared scheduler per watchdog, one lane per mediasoup worker: each lane polls getStats() of
// its connected transports round-robin, spread evenly over time and within the worker's budget of
// requests per second, polls hinted transports first (a priority lane, same budget), and closes
// with `inactive` those the judge finds silent. docs/liveness.md explains the rules and the numbers.
import type { Clock, TimerHandle } from '../clock.js';
import { MAX_TIMER_MS } from '../clock.js';
import { Logger } from '../logger.js';
import type { WatchableTransport, WatchdogPolicy, WatchdogSnapshot } from '../types.js';
import type { WatchHandleInternal } from '../watch/host.js';
import { type HintSource, workerKeyOf } from './hints.js';
import { CADENCE_FACTOR, carriesMedia, readSample, TransportJudge, type Verdict } from './judge.js';
import { RequestWindow } from './request-window.js';

const logger = new Logger('Liveness');

/** Shortest time between two ticks; above 50 requests/s several polls share a tick. */
export const MIN_TICK_MS = 20;
/** A getStats() or dump() not settled after this long marks its transport as stalled. */
export const STALLED_AFTER_MS = 5_000;

/** How much of a late timer's delay a tick catches up on, in milliseconds of polls. */
export const CATCH_UP_MS = 250;

/** What `snapshot().liveness` reports (the public type, one definition). */
export type LivenessStats = WatchdogSnapshot['liveness'];
/** One worker's figures in `snapshot().liveness.workers`. */
export type WorkerLivenessStats = LivenessStats['workers'][number];

/** Shortest time between two polls of a hinted transport. */
export const HINT_MIN_GAP_MS = 250;
/** Most polls one hint sends before its transport goes back to the round-robin. */
export const MAX_HINT_POLLS = 8;

/** One tracked transport: its judge plus the scheduler's bookkeeping, in one object. */
class Entry extends TransportJudge {
	readonly watch: WatchHandleInternal;
	removed = false;
	/** When the last request was sent, in ms since the scheduler's epoch (NEVER: due at once). */
	polledAt = NEVER;
	/** When the in-flight request was sent (NONE when no request is in flight). */
	pendingSince = NONE;
	stalled = false;
	/** Why the transport cannot be judged right now, if so. */
	unjudged: string | undefined = undefined;
	/** When a hint put it in the priority lane (NONE: not hinted). */
	hintedAt = NONE;
	/** Polls sent since the hint. */
	hintPolls = 0;
	/** Polled out of turn since the round-robin last came by: it passes over it instead of waiting. */
	skipTurn = false;

	constructor(watch: WatchHandleInternal, inactivityTimeoutMs: number, trackedAt: number, sctp: boolean) {
		super(inactivityTimeoutMs, trackedAt, sctp);
		this.watch = watch;
	}
}

/** Hinted, and a sample newer than the first hinted poll showed a sign of life (signs are timed at the samples). */
function showedLifeSinceHint(entry: Entry): boolean {
	return entry.hintedAt !== NONE && entry.hintPolls > 0 && entry.lastSignAt > entry.hintedAt;
}

// Times are whole milliseconds since the scheduler started: small integers that V8 stores
// inline, not as boxed doubles (a few hundred bytes per watch at 10 000 watches).
const NEVER = -1_000_000_000;
const NONE = -1;

type Dumpable = WatchableTransport<unknown> & { dump?: () => Promise<unknown> };

/** The scheduler of one worker's transports: its own budget, pace and priority lane. */
class WorkerLane {
	readonly #policy: WatchdogPolicy<never>;
	readonly #clock: Clock;
	readonly #epoch: number;
	readonly #timeoutMs: number;
	readonly #entries = new Map<WatchHandleInternal, Entry>();
	/**
	 * Requests in flight, by transport: never a second one for a transport, even when its watch
	 * left `connected` and came back meanwhile. Holds the transport only while its request does.
	 */
	readonly #inFlight = new Map<object, Entry>();
	#cursor: Iterator<Entry> | undefined;
	#current: Entry | undefined;
	#timer: TimerHandle | undefined;
	#lastTickAt = 0;
	#dueAt = 0;
	/** Requests the budget allows right now (a token bucket refilled at maxStatsRequestsPerSecond). */
	#credit = 0;
	/** Polls the current rate allows right now (fractions carried from tick to tick). */
	#share = 0;
	/** Requests per millisecond at the current load. */
	#rate = 0;
	#tickMs = 0;
	#periodMs: number;
	#loggedPeriodMs = 0;
	#statsErrors = 0;
	/** Created with the first tracked transport. */
	#window: RequestWindow | undefined;
	/** dump() requests the window did not allow when asked: sent first at the next ticks. */
	readonly #mediaChecks: Entry[] = [];
	/** Hinted entries, polled before the round-robin at the judge's pace until a verdict. */
	readonly #priority = new Set<Entry>();
	readonly #hints: Record<HintSource, number> = { 'producer-score': 0, sibling: 0, silence: 0 };
	#hintPolls = 0;
	readonly pid: number | null;

	constructor(policy: WatchdogPolicy<never>, clock: Clock, pid: number | null) {
		this.pid = pid;
		this.#policy = policy;
		this.#clock = clock;
		this.#epoch = clock.now();
		this.#timeoutMs = policy.inactivityTimeoutMs;
		this.#periodMs = policy.liveness.pollIntervalMs;
	}

	/** Starts polling a watch that entered `connected`. */
	track(watch: WatchHandleInternal): void {
		if (this.#timeoutMs === Number.POSITIVE_INFINITY || this.#entries.has(watch)) return;
		this.#window ??= new RequestWindow(this.#policy.liveness.maxStatsRequestsPerSecond);
		this.#entries.set(watch, new Entry(watch, this.#timeoutMs, this.#now(), hasSctp(watch.activeTransport)));
		this.#resize();
	}

	/** Stops polling a watch that left `connected` or ended. Idempotent. */
	untrack(watch: WatchHandleInternal): void {
		const entry = this.#entries.get(watch);
		if (!entry) return;
		entry.removed = true;
		this.#entries.delete(watch);
		this.#priority.delete(entry);
		if (this.#current === entry) this.#current = undefined;
		this.#resize();
	}

	get size(): number {
		return this.#entries.size;
	}

	get statsErrors(): number {
		return this.#statsErrors;
	}

	/**
	 * Puts a tracked transport in the priority lane: polled out of turn at the next tick (within the
	 * budget), then at the judge's pace until it shows a sign of life or is judged gone. False when
	 * the watch is not tracked (not connected) here.
	 */
	hint(watch: WatchHandleInternal, source: HintSource): boolean {
		const entry = this.#entries.get(watch);
		if (!entry) return false;
		this.#hints[source] += 1;
		if (entry.hintedAt !== NONE) return true;
		entry.hintedAt = this.#now();
		entry.hintPolls = 0;
		this.#priority.add(entry);
		logger.debug('hint() [transportId:%s, source:%s]', watch.transportId, source);
		const now = this.#clock.now();
		if (this.#timer !== undefined && this.#dueAt - now > MIN_TICK_MS) {
			this.#clearTimer();
			this.#armTimer(now, MIN_TICK_MS);
		}
		return true;
	}

	stats(): WorkerLivenessStats {
		let slowCadence = 0;
		let echo = 0;
		let unjudged = 0;
		let stalled = 0;
		for (const entry of this.#entries.values()) {
			if (CADENCE_FACTOR * entry.provenSilenceMs > this.#timeoutMs) slowCadence += 1;
			if (entry.echo) echo += 1;
			if (entry.unjudged !== undefined) unjudged += 1;
			if (entry.stalled) stalled += 1;
		}
		return {
			tracked: this.#entries.size,
			requestsPerSecond: Math.round(this.#rate * 10_000) / 10,
			pollIntervalMs: Math.round(this.#periodMs),
			detectionBoundMs: this.#detectionBoundMs(),
			slowCadence,
			echo,
			unjudged,
			stalled,
			statsErrors: this.#statsErrors,
			pid: this.pid,
			hinted: this.#priority.size,
			hints: { ...this.#hints },
			hintPolls: this.#hintPolls,
		};
	}

	/** Stops polling everything; answers still in flight are ignored. */
	stop(): void {
		this.#clearTimer();
		for (const entry of this.#entries.values()) entry.removed = true;
		this.#entries.clear();
		this.#inFlight.clear();
		this.#mediaChecks.length = 0;
		this.#priority.clear();
		this.#cursor = undefined;
		this.#current = undefined;
		this.#rate = 0;
	}

	/** Whole milliseconds since the scheduler started. */
	#now(): number {
		return Math.round(this.#clock.now() - this.#epoch);
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
				Math.round(this.#periodMs),
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
		return detectionBoundMs(this.#timeoutMs, this.#periodMs);
	}

	/**
	 * Wakes up when the next transport in round-robin order is due (so each is polled every period
	 * to the millisecond), or one tick from now when it is overdue (the budget's pace).
	 *
	 * Never later than the longest timer (a longer delay fires after 1 ms in Node, which would spin):
	 * a period or tick beyond it takes several wake-ups. One that comes before anything is due polls
	 * nothing, since credit and share grow with the time elapsed and a transport is polled only once
	 * its period is over, and arms the next.
	 */
	#armTimer(now: number, untilDueMs?: number): void {
		const wanted = untilDueMs !== undefined && untilDueMs > 0 ? Math.max(MIN_TICK_MS, untilDueMs) : this.#tickMs;
		const delay = Math.min(wanted, MAX_TIMER_MS);
		this.#dueAt = now + delay;
		this.#timer = this.#clock.setTimeout(this.#onTimer, delay);
	}

	readonly #onTimer = (): void => {
		this.#timer = undefined;
		this.#tick();
	};

	#clearTimer(): void {
		if (this.#timer === undefined) return;
		this.#clock.clearTimeout(this.#timer);
		this.#timer = undefined;
	}

	/**
	 * Polls the transports that are due, round-robin (so in the order they were last polled): the
	 * share of the time elapsed since the last tick, and never beyond the request budget.
	 */
	#tick(): void {
		const at = this.#clock.now();
		const elapsed = at - this.#lastTickAt;
		this.#lastTickAt = at;
		const budgetRate = this.#policy.liveness.maxStatsRequestsPerSecond / 1000;
		// A late timer (a busy event loop) catches up on up to CATCH_UP_MS of polls, so the pace holds;
		// the request window keeps any second within the budget all the same.
		const catchUpMs = Math.max(this.#tickMs, CATCH_UP_MS);
		this.#credit = Math.min(this.#credit + elapsed * budgetRate, Math.max(1, budgetRate * catchUpMs));
		// New transports join at the current rate (fractions carried over), so a crowd that connects
		// at once is spread over a period; after its first poll, each is polled when due, one
		// period after the last, whatever else joins or leaves.
		this.#share = Math.min(this.#share + this.#rate * elapsed, Math.max(1, this.#rate * catchUpMs));
		const now = this.#now();
		let untilDueMs: number | undefined;
		try {
			this.#sweepPending(now);
			this.#sendMediaChecks(at);
			const window = this.#window as RequestWindow;
			const nextHintAt = this.#pollHinted(now, at, window);
			let scans = Math.min(this.#entries.size, 4 * Math.floor(this.#credit) + 8);
			while (this.#credit >= 1 && scans > 0 && window.allows(at)) {
				scans -= 1;
				const entry = this.#peek();
				if (!entry) break;
				const first = entry.polledAt === NEVER;
				if (!first && entry.skipTurn) {
					// Polled out of turn for a hint: not due, yet no reason to hold up the ones behind it.
					entry.skipTurn = false;
					this.#advance();
					continue;
				}
				if (first ? this.#share < 1 : entry.pendingSince === NONE && entry.polledAt + this.#periodMs > now) {
					// Not due yet. Never early, not even by a millisecond: a sample taken early would see
					// a silence just short of the bound and put off the verdict by a whole period.
					break;
				}
				this.#advance();
				if (entry.pendingSince !== NONE) continue;
				if (this.#poll(entry, now)) {
					this.#credit -= 1;
					if (first) this.#share -= 1;
				}
			}
			// Wake up when the next one is due, or at the budget's pace if it is overdue already or was
			// never polled (its first poll waits for its share, not for NEVER + a period, which a period
			// longer than NEVER's distance from the epoch would put in the future).
			const next = this.#peek();
			if (next && next.pendingSince === NONE && next.polledAt !== NEVER && !next.skipTurn) {
				untilDueMs = next.polledAt + this.#periodMs - now;
			}
			if (nextHintAt !== undefined) untilDueMs = Math.min(untilDueMs ?? this.#tickMs, nextHintAt - now);
		} catch (error) {
			logger.error('tick() failed: %o', error);
		}
		if (this.#entries.size > 0 && this.#timer === undefined) this.#armTimer(at, untilDueMs);
	}

	/**
	 * Polls the hinted transports that are due, oldest hint first, within the same credit and window
	 * as the round-robin; drops those that showed a sign of life since their hint. Returns when the
	 * next hinted poll is due (scheduler ms), if any waits.
	 */
	#pollHinted(now: number, at: number, window: RequestWindow): number | undefined {
		let nextAt: number | undefined;
		for (const entry of this.#priority) {
			const settled = entry.hintPolls >= MAX_HINT_POLLS || entry.stalled || (entry.hintPolls > 1 && entry.unjudged !== undefined);
			if (entry.removed || settled || showedLifeSinceHint(entry)) {
				// A sign of life after the hint, a judge that cannot decide, a worker that does not answer,
				// or gone: back to the round-robin.
				this.#leavePriority(entry);
				continue;
			}
			const dueAt = this.#hintDueAt(entry);
			if (entry.pendingSince !== NONE || dueAt > now) {
				// Its next hinted poll wakes the lane (an answer still awaited: one gap later at the soonest);
				// waking only at the round-robin's pace would make a hint late, the opposite of its purpose.
				const wakeAt = entry.pendingSince !== NONE ? Math.max(dueAt, now + HINT_MIN_GAP_MS) : dueAt;
				nextAt = Math.min(nextAt ?? wakeAt, wakeAt);
				continue;
			}
			if (this.#credit < 1 || !window.allows(at)) return now + MIN_TICK_MS;
			if (this.#poll(entry, now)) {
				this.#credit -= 1;
				// Signs are timed at the samples: only one after the first hinted poll shows life since the hint.
				if (entry.hintPolls === 0) entry.hintedAt = now;
				entry.hintPolls += 1;
				entry.skipTurn = true;
				this.#hintPolls += 1;
				const wakeAt = this.#hintDueAt(entry);
				nextAt = Math.min(nextAt ?? wakeAt, wakeAt);
			}
		}
		return nextAt;
	}

	/** Back to the round-robin (idempotent). */
	#leavePriority(entry: Entry): void {
		this.#priority.delete(entry);
		entry.hintedAt = NONE;
	}

	/**
	 * The first hinted poll is due at once; the next ones when the judge could decide (the client's
	 * last sign plus its bound), never sooner than HINT_MIN_GAP_MS after the last poll, never later
	 * than the round-robin would have polled it.
	 */
	#hintDueAt(entry: Entry): number {
		if (entry.hintPolls === 0) return entry.hintedAt;
		const judgeAt = entry.lastSignAt + Math.ceil(entry.boundMs);
		return Math.min(entry.polledAt + this.#periodMs, Math.max(entry.polledAt + HINT_MIN_GAP_MS, judgeAt));
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
		for (const [transport, entry] of this.#inFlight) {
			if (entry.removed && (transport as { closed?: boolean }).closed) {
				// A closed transport whose request never settles: forget it, keep no reference.
				this.#inFlight.delete(transport);
				continue;
			}
			if (entry.stalled || entry.removed || now - entry.pendingSince < STALLED_AFTER_MS) continue;
			entry.stalled = true;
			logger.warn(
				'poll() no answer from the worker [transportId:%s, waitedMs:%d]: not polling it again until it answers',
				entry.watch.transportId,
				now - entry.pendingSince,
			);
		}
	}

	/* ---------------------------------------------------------------- requests */

	/** Sends getStats() for `entry`; false when nothing was sent. */
	#poll(entry: Entry, now: number): boolean {
		const transport = entry.watch.activeTransport;
		if (!transport || transport.closed || this.#inFlight.has(transport)) return false;
		entry.polledAt = now;
		this.#send(entry, transport, now, transport.getStats, (stats) => {
			const sample = readSample(stats, now);
			if (!sample) {
				this.#apply(entry, transport, { kind: 'unjudged', reason: 'getStats() gave no bytesReceived' });
				return;
			}
			this.#apply(entry, transport, entry.observe(sample));
		});
		return true;
	}

	/**
	 * Sends one request (at most one in flight per transport) and hands its answer to `onValue`
	 * unless the entry was untracked meanwhile. A failure is logged and counted, unless the
	 * transport closed meanwhile: then it is expected.
	 */
	#send(
		entry: Entry,
		transport: WatchableTransport<unknown>,
		now: number,
		method: () => Promise<unknown>,
		onValue: (value: unknown) => void,
	): void {
		entry.pendingSince = now;
		this.#inFlight.set(transport, entry);
		let request: Promise<unknown>;
		try {
			request = method.call(transport);
		} catch (error) {
			request = Promise.reject(error);
		}
		// After the call, which writes the request: no send time is ever later than the one recorded.
		this.#window?.record(this.#clock.now());
		request.then(
			(value) => {
				this.#settle(entry, transport);
				if (!entry.removed) onValue(value);
			},
			(error: unknown) => {
				this.#settle(entry, transport);
				if (entry.removed || transport.closed) {
					// The transport, its router or its worker closed meanwhile: not an error.
					logger.debug('%s() failed on a closing transport [transportId:%s]', method.name, entry.watch.transportId);
					return;
				}
				this.#statsErrors += 1;
				logger.warn('%s() failed [transportId:%s]: %o', method.name, entry.watch.transportId, error);
			},
		);
	}

	#settle(entry: Entry, transport: object): void {
		this.#inFlight.delete(transport);
		entry.pendingSince = NONE;
		entry.stalled = false;
	}

	#apply(entry: Entry, transport: WatchableTransport<unknown>, verdict: Verdict): void {
		if (entry.removed) return;
		switch (verdict.kind) {
			case 'alive':
				entry.unjudged = undefined;
				// Proven alive since its hint: back to the round-robin now, not at the lane's next wake-up
				// (a period later, it would be counted as hinted meanwhile).
				if (showedLifeSinceHint(entry)) this.#leavePriority(entry);
				if (entry.silent) this.#followSilence(entry);
				return;
			case 'inactive': {
				const detectionMs = this.#now() - verdict.lastSignAt;
				const boundMs = Math.round(verdict.boundMs);
				const detail = `no sign of life for ${detectionMs} ms (bound ${boundMs} ms, polled every ${Math.round(this.#periodMs)} ms)`;
				logger.debug('inactive [transportId:%s, detectionMs:%d, boundMs:%d]', entry.watch.transportId, detectionMs, boundMs);
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

	/**
	 * The judge's own hint: a poll found the transport silent, yet short of its bound. When the bound
	 * ends before the round-robin comes back, the deciding poll goes to the priority lane, due when
	 * the judge can decide (its last sign plus its bound), so a silence is judged at its bound and
	 * not up to a period after it. Nothing closes sooner: the judge's rules are the same.
	 */
	#followSilence(entry: Entry): void {
		if (entry.removed || entry.hintedAt !== NONE) return;
		const judgeAt = entry.lastSignAt + Math.ceil(entry.boundMs);
		if (judgeAt >= entry.polledAt + this.#periodMs) return; // the round-robin comes back in time
		this.#hints.silence += 1;
		// As after a hint's first poll: the next one waits for the judge; a sign of life newer than
		// this sample takes it back to the round-robin.
		entry.hintedAt = entry.polledAt;
		entry.hintPolls = 1;
		this.#priority.add(entry);
		const now = this.#clock.now();
		const untilDueMs = Math.max(MIN_TICK_MS, judgeAt - this.#now());
		if (this.#timer !== undefined && this.#dueAt - now > untilDueMs) {
			this.#clearTimer();
			this.#armTimer(now, untilDueMs);
		}
	}

	/** Sends the dump() requests the window held back, oldest first, as far as it allows now. */
	#sendMediaChecks(at: number): void {
		while (this.#mediaChecks.length > 0 && this.#window?.allows(at)) {
			const entry = this.#mediaChecks.shift() as Entry;
			const transport = entry.watch.activeTransport;
			if (entry.removed || !transport || transport.closed) continue;
			this.#checkMedia(entry, transport as Dumpable);
		}
	}

	/** Asks the worker whether the transport has producers or consumers (one dump(), counted in the budget). */
	#checkMedia(entry: Entry, transport: Dumpable): void {
		const dump = transport.dump;
		if (typeof dump !== 'function' || transport.closed) {
			this.#apply(entry, transport, { kind: 'unjudged', reason: 'the transport has no dump()' });
			return;
		}
		if (!this.#window?.allows(this.#clock.now())) {
			this.#mediaChecks.push(entry);
			return;
		}
		this.#credit -= 1; // repaid before the next poll
		this.#send(entry, transport, this.#now(), dump, (value) => {
			const present = carriesMedia(value);
			if (present === undefined) {
				logger.warn('dump() has no producerIds/consumerIds [transportId:%s]', entry.watch.transportId);
				return; // the judge stays at 'unknown' and says so at the bound
			}
			logger.debug('checkMedia() [transportId:%s, present:%s]', entry.watch.transportId, present);
			this.#apply(entry, transport, entry.mediaChecked(present));
		});
	}
}

/**
 * One shared scheduler per watchdog: a lane per mediasoup worker (each worker is its own process
 * and core), each with the budget `maxStatsRequestsPerSecond` and the pace `pollIntervalMs`. A
 * watch's worker is its transport's channel to the worker (3.12 and 3.27 set one per worker), else
 * the `{ worker }` watch option, else one shared lane.
 */
export class LivenessScheduler {
	readonly #policy: WatchdogPolicy<never>;
	readonly #clock: Clock;
	readonly #lanes = new Map<object, WorkerLane>();
	readonly #laneOf = new Map<WatchHandleInternal, WorkerLane>();
	/** Errors counted by lanes that emptied and were dropped. */
	#pastStatsErrors = 0;

	constructor(policy: WatchdogPolicy<never>, clock: Clock) {
		this.#policy = policy;
		this.#clock = clock;
	}

	track(watch: WatchHandleInternal, worker?: object): void {
		if (this.#laneOf.has(watch) || this.#policy.inactivityTimeoutMs === Number.POSITIVE_INFINITY) return;
		const key = workerKeyOf(watch.activeTransport, worker) ?? SHARED_LANE;
		let lane = this.#lanes.get(key);
		if (!lane) {
			lane = new WorkerLane(this.#policy, this.#clock, pidOf(worker));
			this.#lanes.set(key, lane);
		}
		this.#laneOf.set(watch, lane);
		lane.track(watch);
	}

	untrack(watch: WatchHandleInternal): void {
		const lane = this.#laneOf.get(watch);
		if (!lane) return;
		this.#laneOf.delete(watch);
		lane.untrack(watch);
		if (lane.size > 0) return;
		// An empty lane holds no timer; dropping it releases the worker's channel (a dead worker).
		for (const [key, value] of this.#lanes) {
			if (value !== lane) continue;
			this.#lanes.delete(key);
			this.#pastStatsErrors += lane.statsErrors;
			lane.stop();
		}
	}

	/** Moves a poll of a connected transport forward (never closes it). False when not tracked. */
	hint(watch: WatchHandleInternal, source: HintSource): boolean {
		return this.#laneOf.get(watch)?.hint(watch, source) ?? false;
	}

	stats(): LivenessStats {
		const workers = [...this.#lanes.values()].map((lane) => lane.stats());
		const sum = (pick: (w: WorkerLivenessStats) => number): number => workers.reduce((n, w) => n + pick(w), 0);
		const max = (pick: (w: WorkerLivenessStats) => number, none: number): number =>
			workers.length === 0 ? none : Math.max(...workers.map(pick));
		const idle = this.#policy.inactivityTimeoutMs;
		return {
			tracked: sum((w) => w.tracked),
			requestsPerSecond: Math.round(sum((w) => w.requestsPerSecond) * 10) / 10,
			pollIntervalMs: max((w) => w.pollIntervalMs, this.#policy.liveness.pollIntervalMs),
			detectionBoundMs: max((w) => w.detectionBoundMs, detectionBoundMs(idle, this.#policy.liveness.pollIntervalMs)),
			slowCadence: sum((w) => w.slowCadence),
			echo: sum((w) => w.echo),
			unjudged: sum((w) => w.unjudged),
			stalled: sum((w) => w.stalled),
			statsErrors: this.#pastStatsErrors + sum((w) => w.statsErrors),
			workers,
		};
	}

	stop(): void {
		for (const lane of this.#lanes.values()) lane.stop();
		this.#lanes.clear();
		this.#laneOf.clear();
	}
}

/**
 * The longest a transport judged at `timeoutMs` stays open after its client's last packet, polled
 * every `periodMs`: the first poll after that packet sees it (up to a period later) and is the last
 * sign; the next poll finds the silence, and the deciding poll comes at the sign plus the bound
 * (the judge's own hint, when the round-robin would come later), or at the next turn when a period
 * is longer than the bound.
 */
export function detectionBoundMs(timeoutMs: number, periodMs: number): number {
	if (timeoutMs === Number.POSITIVE_INFINITY) return Number.POSITIVE_INFINITY;
	return Math.round(Math.max(timeoutMs, periodMs) + periodMs);
}

function pidOf(worker: object | undefined): number | null {
	const pid = (worker as { pid?: unknown } | undefined)?.pid;
	return typeof pid === 'number' ? pid : null;
}

/** The lane of transports whose worker is unknown. */
const SHARED_LANE = Object.freeze({});

/** Whether the transport may have SCTP (unknown shapes are assumed to). */
function hasSctp(transport: WatchableTransport<unknown> | undefined): boolean {
	if (!transport || !('sctpParameters' in transport)) return true;
	return (transport as { sctpParameters?: unknown }).sctpParameters !== undefined;
}
