// The public contract: every type an application sees. Implementations stay internal.
import type { ListenerErrorEvent } from './emitter.js';
import type { CloseReason, IceRestartDenialReason } from './reasons.js';
import type { BindSessionOptions, SessionBinding, SignalingSession } from './signaling/types.js';

/* ------------------------------------------------------------------ transports */

/** Anything with `on`/`off` for named events (mediasoup's EnhancedEventEmitter, Node's EventEmitter). */
export interface EventSourceLike {
	// biome-ignore lint/suspicious/noExplicitAny: must accept mediasoup's generic typed emitters of any version
	on(event: any, listener: (...args: any[]) => void): unknown;
	// biome-ignore lint/suspicious/noExplicitAny: see above
	off(event: any, listener: (...args: any[]) => void): unknown;
}

/** ICE parameters as mediasoup returns them from `restartIce()`. */
export interface IceParametersLike {
	readonly usernameFragment: string;
	readonly password: string;
	/** Present as mediasoup returns it; typed without `| undefined` so it passes straight to mediasoup-client `restartIce({ iceParameters })`. */
	readonly iceLite?: boolean;
}

/** The fields of `WebRtcTransport.getStats()[0]` the watchdog reads. */
export interface TransportStatsLike {
	readonly bytesReceived?: number | undefined;
	readonly timestamp?: number | undefined;
}

/**
 * A mediasoup 3.x `WebRtcTransport`, recognised by shape (never by `instanceof`: mediasoup 3.15+
 * exports only types and an app may load two copies). Both 3.12 and 3.27 transports fit.
 */
export interface WatchableTransport<TransportAppData = Record<string, unknown>> extends EventSourceLike {
	readonly id: string;
	readonly closed: boolean;
	readonly iceState: string;
	readonly dtlsState: string;
	readonly appData: TransportAppData;
	readonly observer: EventSourceLike;
	restartIce(): Promise<IceParametersLike>;
	getStats(): Promise<ReadonlyArray<TransportStatsLike>>;
	close(): void;
}

/** A mediasoup `Worker`, used only to tell a worker death from a router close. */
export interface WorkerLike {
	readonly died: boolean;
}

/* ------------------------------------------------------------------ policy */

/** A per-user rate limit: at most `limit` events per `windowMs` (fixed window from the first). */
export interface PerUserLimit {
	/** How many ICE restarts one user may have in one window. @default 1 */
	readonly limit: number;
	/** Length of the window in milliseconds. @default 20_000 */
	readonly windowMs: number;
}

/**
 * The restart-storm breaker: at most `perNode` granted ICE restarts on this watchdog and `cluster`
 * granted restarts on every node sharing the store, in any sliding window of `windowMs`. A request
 * above either is refused with `storm` and a `retryAfterMs` (when a slot frees, plus a random
 * jitter of up to `jitterMs`). See docs/ice-restart.md for how to size it.
 */
export interface StormLimit {
	/** Granted restarts per window on this watchdog; `Infinity`: no per-node bound. @default Infinity */
	readonly perNode: number;
	/** Granted restarts per window across every node sharing the store; `Infinity`: none. @default Infinity */
	readonly cluster: number;
	/** Length of the sliding window in milliseconds. @default 1_000 */
	readonly windowMs: number;
	/** Upper bound of the random delay added to each `retryAfterMs`. @default windowMs */
	readonly jitterMs: number;
}

/**
 * Tells the other SFU nodes that a user's signaling session is now bound on this one (takeover):
 * their transports of that user close with `superseded`. `mediasoup-watchdog/redis` provides one
 * over Redis pub/sub (`createRedisStore({ client, subscriber })` → `store.takeover`).
 */
export interface TakeoverChannel {
	/** Publishes "`userId` is bound on node `origin`". Rejects when the channel is down. */
	announce(userId: string, origin: string): Promise<void>;
	/**
	 * Calls `listener` for every announcement (this node's own included); `onError` for a
	 * subscription that failed. Returns the unsubscribe function.
	 */
	subscribe(listener: (userId: string, origin: string) => void, onError: (error: unknown) => void): () => void;
}

/** What to do when the shared store (e.g. Redis) fails. */
export type StoreErrorAction = 'deny' | 'allow';

/** ICE-restart gate options. */
export interface IceRestartPolicyOptions {
	/**
	 * Refuse restarts until the transport reached DTLS `connected` at least once.
	 * @default true
	 */
	readonly requireConnectedOnce?: boolean;
	/**
	 * Per-user restart rate limit, shared by all transports of a user watched with the same
	 * policy (and, with a shared store, by every SFU node). `false` turns it off.
	 * @default { limit: 1, windowMs: 20_000 }
	 * @example { limit: 2, windowMs: 30_000 }
	 */
	readonly perUser?: Partial<PerUserLimit> | false;
	/**
	 * A granted restart must reconnect within this many milliseconds, or the transport is closed
	 * with `restart-timeout`. `Infinity` turns it off.
	 * @default 10_000
	 */
	readonly reconnectTimeoutMs?: number;
	/**
	 * The restart-storm breaker (off by default): bounds granted restarts per node and, through
	 * the store, cluster-wide. `false` turns it off.
	 * @default false
	 * @example { cluster: 50, perNode: 30, windowMs: 1_000 }
	 */
	readonly storm?: Partial<StormLimit> | false;
}

/** Stats-based liveness options (shared scheduler of `getStats()` polls). */
export interface LivenessPolicyOptions {
	/**
	 * Upper bound of `getStats()` requests per second the watchdog sends to mediasoup, over all
	 * transports it watches. With more transports, each is polled less often and the effective
	 * detection bound grows (see `snapshot()`).
	 * @default 200
	 */
	readonly maxStatsRequestsPerSecond?: number;
	/**
	 * How often each connected transport is polled when the budget allows, in milliseconds.
	 * @default 2_000
	 */
	readonly pollIntervalMs?: number;
}

/**
 * What `definePolicy()` accepts. Every duration is in milliseconds and `Infinity` means "off".
 * @typeParam TransportAppData - the `appData` type of the transports the policy will watch.
 */
export interface WatchdogPolicyOptions<TransportAppData = Record<string, unknown>> {
	/**
	 * First-connect deadline: a transport not DTLS `connected` within this many milliseconds
	 * of being watched is closed with `connect-timeout`.
	 * @default 15_000
	 */
	readonly connectTimeoutMs?: number;
	/**
	 * ICE `'disconnected'` for this long, with no restart in progress, closes the transport with
	 * `ice-disconnected`.
	 * @default 15_000
	 */
	readonly disconnectGraceMs?: number;
	/**
	 * A connected transport that shows no sign of life for this long is closed with `inactive`
	 * (catches clients that vanish silently, on any mediasoup version). A sign of life is inbound
	 * bytes growing, or, for a transport without producers and consumers, the worker's replies to
	 * consent checks. A client seen to be naturally quieter gets 3× the longest gap read between two
	 * of its signs of life instead, if that is longer. `Infinity` turns liveness off. See docs/liveness.md.
	 * @default 8_000
	 * @example 15_000
	 */
	readonly inactivityTimeoutMs?: number;
	/** Stats polling budget. */
	readonly liveness?: LivenessPolicyOptions;
	/** ICE-restart gate. */
	readonly iceRestart?: IceRestartPolicyOptions;
	/**
	 * How many never-connected transports one user may hold; one more is closed with
	 * `pending-limit`. `Infinity` turns it off.
	 * @default 4
	 */
	readonly maxPendingPerUser?: number;
	/**
	 * After a user's bound signaling session ends abruptly, how long a new session may take to
	 * be bound before the user's transports are closed with `signaling-lost`.
	 * @default 10_000
	 */
	readonly signalingGraceMs?: number;
	/**
	 * Resolves the user a transport belongs to. Needed when a per-user limit is on. What it
	 * returns must be a non-empty string, a finite number or `undefined` (else a `TypeError`).
	 * @default (transport) => transport.appData.userId (a string or number)
	 */
	readonly userId?: (transport: WatchableTransport<TransportAppData>) => string | number | undefined;
	/**
	 * Where per-user restart limits and pending counts live. Default: in this process's memory.
	 * Use `mediasoup-watchdog/redis` to share them across SFU nodes.
	 */
	readonly store?: WatchdogStore;
	/**
	 * What to do when the store fails: one action for both, or one each.
	 * @default { restart: 'deny', pending: 'allow' }
	 */
	readonly onStoreError?: StoreErrorAction | { readonly restart?: StoreErrorAction; readonly pending?: StoreErrorAction };
	/**
	 * Takeover across nodes (off by default): `bindSession()` announces the user on this channel,
	 * and every other watchdog on it closes that user's transports with `superseded`. A failed
	 * announcement closes nothing and is reported on the observer's `storeerror`.
	 * @default false
	 */
	readonly takeover?: TakeoverChannel | false;
}

/** A validated, frozen policy with every default filled in. */
export interface WatchdogPolicy<TransportAppData = Record<string, unknown>> {
	readonly connectTimeoutMs: number;
	readonly disconnectGraceMs: number;
	readonly inactivityTimeoutMs: number;
	readonly liveness: Readonly<Required<LivenessPolicyOptions>>;
	readonly iceRestart: {
		readonly requireConnectedOnce: boolean;
		readonly perUser: PerUserLimit | false;
		readonly reconnectTimeoutMs: number;
		readonly storm: StormLimit | false;
	};
	readonly maxPendingPerUser: number;
	readonly signalingGraceMs: number;
	readonly userId: (transport: WatchableTransport<TransportAppData>) => string | number | undefined;
	readonly store: WatchdogStore | undefined;
	readonly onStoreError: { readonly restart: StoreErrorAction; readonly pending: StoreErrorAction };
	readonly takeover: TakeoverChannel | false;
}

/* ------------------------------------------------------------------ store */

/** Outcome of one attempt to consume a per-user restart allowance. */
export interface ConsumeResult {
	readonly allowed: boolean;
	/** When the next attempt can succeed, in milliseconds from now (0 when allowed). */
	readonly retryAfterMs: number;
}

/**
 * Where per-user state lives. The default keeps it in memory; `mediasoup-watchdog/redis` keeps
 * it in Redis so that limits hold across SFU nodes. Methods reject when the store is down, and
 * must settle in bounded time: the watchdog sends the next `addPending`/`removePending` of a
 * transport only once the previous one has settled.
 */
export interface WatchdogStore {
	/** Consumes one ICE-restart allowance of `userId` under `limit`. */
	consumeRestart(userId: string, limit: PerUserLimit): Promise<ConsumeResult>;
	/**
	 * Records a never-connected transport of `userId`, forgotten automatically after `ttlMs`
	 * (a crashed node must not hold a user's budget forever). Resolves with the user's count
	 * including this one.
	 */
	addPending(userId: string, transportId: string, ttlMs: number): Promise<number>;
	/** Forgets a pending transport (it connected or closed). Idempotent. */
	removePending(userId: string, transportId: string): Promise<void>;
	/** The user's current count of pending transports. */
	countPending(userId: string): Promise<number>;
	/**
	 * Optional (needed by a finite `iceRestart.storm.cluster`): takes one slot, named `token`, of
	 * the cluster-wide sliding window of `windowMs` holding at most `limit`; refused with the time
	 * until the oldest slot frees.
	 */
	admitClusterRestart?(token: string, limit: number, windowMs: number): Promise<ConsumeResult>;
	/** Optional: gives back a slot `admitClusterRestart` took (the restart was refused after all). */
	releaseClusterRestart?(token: string): Promise<void>;
	/**
	 * Optional: throws a `TypeError` or `RangeError` when this store cannot honour `policy` (the
	 * Redis store counts restart windows in whole seconds). `definePolicy()` calls it, so a bad
	 * combination fails where the policy is written, not at the first restart.
	 */
	checkPolicy?(policy: WatchdogPolicy<never>): void;
}

/* ------------------------------------------------------------------ states, reasons, events */

/** Where a watch is in its life. `closed` and `stopped` are terminal. */
export type WatchState = 'connecting' | 'connected' | 'disconnected' | 'restarting' | 'closed' | 'stopped';

export type { CloseReason, IceRestartDenialReason } from './reasons.js';

/** What `closed` settles with and the `close` event carries. */
export interface CloseInfo {
	readonly reason: CloseReason;
	/** True for an intentional end (the client's close_notify, a clean signaling close, the app). */
	readonly clean: boolean;
	/** Whether the watchdog closed the transport itself (false: it only recorded the close). */
	readonly closedByWatchdog: boolean;
	readonly transportId: string;
	readonly userId: string | undefined;
	/** Whether DTLS reached `connected` at least once. */
	readonly connectedOnce: boolean;
	/** Milliseconds from watch start to the first DTLS `connected`; null if never. */
	readonly timeToConnectMs: number | null;
	/** Milliseconds from watch start to the close. */
	readonly durationMs: number;
	/** Milliseconds from the last sign of life seen (activity, ICE loss, session end) to the decision; null when not applicable. */
	readonly detectionMs: number | null;
	/** Free text the app passed to `close(detail)`, or the watchdog's own explanation. */
	readonly detail: string | undefined;
}

export interface ConnectEvent {
	/** Milliseconds from watch start to DTLS `connected`. */
	readonly timeToConnectMs: number;
}

export interface DisconnectEvent {
	/** The ICE state that started the disconnection. */
	readonly iceState: string;
	/** Milliseconds the watch will wait before closing (`Infinity` when off or suspended). */
	readonly graceMs: number;
}

export interface ReconnectEvent {
	/** Milliseconds from the disconnection (or the granted restart) to the reconnection. */
	readonly afterMs: number;
	/** True when it followed a granted ICE restart. */
	readonly afterRestart: boolean;
}

export type IceRestartEvent =
	| { readonly outcome: 'granted'; readonly iceParameters: IceParametersLike }
	| { readonly outcome: 'denied'; readonly reason: IceRestartDenialReason; readonly retryAfterMs: number | null };

export interface StateChangeEvent {
	readonly from: WatchState;
	readonly to: WatchState;
}

/** Events of a `TransportWatch`. One payload object each. */
export interface TransportWatchEvents {
	connect: ConnectEvent;
	disconnect: DisconnectEvent;
	reconnect: ReconnectEvent;
	icerestart: IceRestartEvent;
	statechange: StateChangeEvent;
	close: CloseInfo;
	listenererror: ListenerErrorEvent;
}

/** A typed event subscription API. */
export interface TypedEvents<Events> {
	on<K extends keyof Events & string>(event: K, listener: (payload: Events[K]) => void): this;
	once<K extends keyof Events & string>(event: K, listener: (payload: Events[K]) => void): this;
	off<K extends keyof Events & string>(event: K, listener: (payload: Events[K]) => void): this;
	listenerCount(event?: keyof Events & string): number;
}

/* ------------------------------------------------------------------ handles */

/** Per-watch options for `watchTransport(transport, policy, options)`. */
export interface WatchOptions {
	/** Aborting it stops the watch (same as `stop()`). */
	readonly signal?: AbortSignal;
	/** The transport's worker: lets a worker death be reported as `worker-died`, not `router-closed`. */
	readonly worker?: WorkerLike;
	/**
	 * The user this transport belongs to; overrides the policy's `userId()`. A non-empty string or
	 * a finite number (anything else is a `TypeError`).
	 */
	readonly userId?: string | number;
	/**
	 * Where the transport's ports come from, for the port budget (`snapshot().ports`): the range of
	 * its worker, `{ min: rtcMinPort, max: rtcMaxPort }` (mediasoup 3.12), or the `portRange` of its
	 * listen infos (3.14+; a list when they differ). A transport on a WebRtcServer takes no port of
	 * its own: pass `{ webRtcServer }` to count it on the server instead. Left out: not counted.
	 * @example { min: 40_000, max: 49_999 }
	 */
	readonly ports?: WatchPorts;
}

/** An inclusive range of ports: a worker's `rtcMinPort`–`rtcMaxPort`, or a listen info's `portRange`. */
export interface PortRange {
	readonly min: number;
	readonly max: number;
}

/** `WatchOptions.ports`: the range(s) the transport's ports come from, or the WebRtcServer it is on. */
export type WatchPorts = PortRange | readonly PortRange[] | { readonly webRtcServer: { readonly id: string } };

/** `snapshot().ports`: the port budget (docs/observability.md, "Port budget"). */
export interface PortBudgetSnapshot {
	/** One entry per worker, protocol, address and range holding at least one watched transport. */
	readonly ranges: readonly PortRangeSnapshot[];
	/** One entry per WebRtcServer with at least one watched transport (`ports: { webRtcServer }`). */
	readonly webRtcServers: ReadonlyArray<{ readonly pid: number | null; readonly id: string; readonly transports: number }>;
}

/** The ports of one range that watched transports hold, on one worker, protocol and address. */
export interface PortRangeSnapshot {
	/** The worker's pid when the app gave `{ worker }`, else null. */
	readonly pid: number | null;
	readonly protocol: 'udp' | 'tcp';
	/** The candidate's address: the listen IP, or the announced address when there is one (3.14+). */
	readonly address: string;
	readonly min: number;
	readonly max: number;
	/** Ports in the range: `max - min + 1`. */
	readonly size: number;
	/** Distinct ports of the range held by watched transports. */
	readonly taken: number;
	/** Watched transports holding a port of the range. */
	readonly transports: number;
	/** `taken / size`, 0–1. */
	readonly share: number;
}

/** The handle `watchTransport()` returns. */
export interface TransportWatch<Transport extends WatchableTransport<unknown> = WatchableTransport>
	extends TypedEvents<TransportWatchEvents>,
		Disposable {
	/** The watched transport; `undefined` once the watch ended (no reference is kept). */
	readonly transport: Transport | undefined;
	readonly transportId: string;
	readonly userId: string | undefined;
	readonly state: WatchState;
	/** Whether DTLS reached `connected` at least once. */
	readonly connectedOnce: boolean;
	/** The reason the watch ended, or `undefined` while it is active. */
	readonly closeReason: CloseReason | undefined;
	/** Settles once, when the watch ends (close or stop). Never rejects. */
	readonly closed: Promise<CloseInfo>;
	/**
	 * Restarts ICE if the policy allows it, resolving with mediasoup's new ICE parameters.
	 * Rejects with `IceRestartDeniedError` when the gate refuses (see its `reason`), or with
	 * `IceRestartFailedError` when mediasoup's own `restartIce()` fails after the gate allowed it.
	 * Concurrent calls share one decision.
	 */
	restartIce(): Promise<IceParametersLike>;
	/** Closes the transport with reason `app`. Idempotent. */
	close(detail?: string): void;
	/** Stops watching and releases everything, leaving the transport open. Idempotent. */
	stop(): void;
}

/**
 * Payload of the observer's `watchlistenererror`: an app listener on a watch threw. Emitted just
 * before the watch's own `listenererror` `{ event, error }` for the same error; a throwing
 * `listenererror` listener of the watch (which the watch only logs) is reported here too.
 */
export interface WatchListenerErrorEvent extends ListenerErrorEvent {
	readonly transportId: string;
	readonly userId: string | undefined;
	/** The watch's event whose listener threw. */
	readonly event: keyof TransportWatchEvents;
}

/** Events of `watchdog.observer`, for metrics adapters. */
export interface WatchdogObserverEvents {
	watch: { readonly transportId: string; readonly userId: string | undefined };
	statechange: { readonly transportId: string; readonly from: WatchState; readonly to: WatchState };
	connect: { readonly transportId: string; readonly timeToConnectMs: number };
	close: CloseInfo;
	icerestart: { readonly transportId: string; readonly userId: string | undefined } & IceRestartEvent;
	/** The takeover channel failed (announcing a binding, or its subscription): nothing was closed. */
	storeerror: {
		readonly operation: 'announceTakeover' | 'subscribeTakeover';
		readonly userId: string | undefined;
		readonly error: unknown;
	};
	/** A listener of the observer itself threw. */
	listenererror: ListenerErrorEvent;
	/** A listener the app added on a watch threw (the watch emits its own `listenererror` too). */
	watchlistenererror: WatchListenerErrorEvent;
}

/** Counts and summaries returned by `watchdog.snapshot()`. Plain data. */
export interface WatchdogSnapshot {
	readonly transports: Readonly<Record<Exclude<WatchState, 'closed' | 'stopped'>, number>>;
	readonly closes: Readonly<Partial<Record<CloseReason, number>>>;
	readonly restarts: {
		readonly granted: number;
		readonly denied: Readonly<Partial<Record<IceRestartDenialReason, number>>>;
	};
	readonly timeToConnectMs: Summary;
	readonly detectionMs: Summary;
	readonly liveness: {
		/** Transports currently polled. */
		readonly tracked: number;
		/** getStats() requests per second the scheduler is currently sending. */
		readonly requestsPerSecond: number;
		/** Milliseconds between two polls of one transport at the current load. */
		readonly pollIntervalMs: number;
		/** Worst-case time from a client's disappearance to an `inactive` close, in milliseconds. */
		readonly detectionBoundMs: number;
		/** Transports judged with a longer bound because their client is naturally quieter. */
		readonly slowCadence: number;
		/** Transports that never carried RTP, judged on the worker's consent replies too (WebRtcServer). */
		readonly echo: number;
		/** Transports silent past their bound that cannot be judged right now (left open, logged). */
		readonly unjudged: number;
		/** Transports whose last getStats()/dump() has not answered within 5 s. */
		readonly stalled: number;
		/** getStats()/dump() failures on open transports since the watchdog started. */
		readonly statsErrors: number;
		/** The same figures per mediasoup worker (each has its own budget and pace), plus its hints. */
		readonly workers: readonly WorkerLivenessSnapshot[];
	};
	readonly users: number;
	/** Ports of the configured ranges held by watched transports, and transports per WebRtcServer. */
	readonly ports: PortBudgetSnapshot;
}

/** One worker's liveness figures in `snapshot().liveness.workers` (see docs/liveness.md, "Hints"). */
export interface WorkerLivenessSnapshot extends Omit<WatchdogSnapshot['liveness'], 'workers'> {
	/** The worker's pid when the app gave `{ worker }`, else null. */
	readonly pid: number | null;
	/** Transports in the priority lane right now. */
	readonly hinted: number;
	/**
	 * Hints received, by source, since this worker's first tracked transport; `silence` counts the
	 * judge's own: a poll found the transport silent and its bound ends before the next round-robin turn.
	 */
	readonly hints: { readonly 'producer-score': number; readonly sibling: number; readonly silence: number };
	/** Polls sent out of turn for hints. */
	readonly hintPolls: number;
}

/**
 * A summary of durations in milliseconds, shaped like a Prometheus summary: `count` and `sum`
 * are totals since the watchdog was created; `min`, `mean`, `p50`, `p95` and `max` are over a
 * window of recent samples (the last 1 024, none older than 10 minutes), null when it is empty.
 */
export interface Summary {
	/** Samples since the watchdog was created. */
	readonly count: number;
	/** Sum of every sample since the watchdog was created, in milliseconds. */
	readonly sum: number;
	/** Samples in the recent window the statistics below are taken over. */
	readonly window: number;
	readonly min: number | null;
	readonly mean: number | null;
	readonly p50: number | null;
	readonly p95: number | null;
	readonly max: number | null;
}

/** `closeUser()` options: `client-left` for a goodbye the client declared (client.md), else `app`. */
export interface CloseUserOptions {
	reason?: 'app' | 'client-left' | undefined;
	detail?: string | undefined;
}

/**
 * The registry behind `watchTransport()`: per-user state (restart limits, pending counts,
 * signaling sessions) shared by every transport watched through it.
 */
export interface Watchdog<TransportAppData = Record<string, unknown>> extends Disposable {
	readonly policy: WatchdogPolicy<TransportAppData>;
	/** Events for metrics adapters, apart from the app-facing events of each watch. */
	readonly observer: TypedEvents<WatchdogObserverEvents>;
	/** Watches a transport (same as `watchTransport(transport, policy, options)`). */
	watch<Transport extends WatchableTransport<TransportAppData>>(
		transport: Transport,
		options?: WatchOptions,
	): TransportWatch<Transport>;
	/** The active watch of a transport, by id. */
	get(transportId: string): TransportWatch | undefined;
	/** The active watches of one user. */
	watchesOf(userId: string | number): TransportWatch[];
	/** Whether the user may create one more never-connected transport (`maxPendingPerUser`). */
	canCreate(userId: string | number): Promise<boolean>;
	/**
	 * Closes every transport of the user with reason `app`, or `client-left` for a declared goodbye
	 * (`{ reason: 'client-left' }`, see client.md); returns how many.
	 */
	closeUser(userId: string | number, detail?: string | CloseUserOptions): number;
	/**
	 * Follows the user's signaling session (a `ws` or DOM WebSocket, a Socket.IO server socket, a
	 * WebTransport session or an AbortSignal), replacing the user's previous one. A clean end closes
	 * the user's transports at once (`signaling-closed`); an abrupt end starts a grace that a new
	 * `bindSession()` for the user cancels, else `signaling-lost`. See docs/signaling.md.
	 * @throws TypeError for a session of no known shape or a bad option; RangeError for a duration out of range.
	 */
	bindSession(userId: string | number, session: SignalingSession, options?: BindSessionOptions): SessionBinding;
	/** Counts and summaries, cheap enough to call every second. */
	snapshot(): WatchdogSnapshot;
	/** Stops every watch (transports stay open), the liveness scheduler and session bindings. */
	stop(): void;
}
