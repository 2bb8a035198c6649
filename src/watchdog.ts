import type { Clock } from './clock.js';
import { systemClock } from './clock.js';
import { SafeEmitter } from './emitter.js';
import { MemoryStore } from './gate/memory-store.js';
import { LivenessScheduler } from './liveness/scheduler.js';
import { Logger } from './logger.js';
import { definePolicy } from './policy.js';
import { SignalingRegistry } from './signaling/registry.js';
import type { BindSessionOptions, SessionBinding, SignalingSession } from './signaling/types.js';
import type {
	CloseInfo,
	IceRestartEvent,
	TransportWatch,
	WatchOptions,
	WatchState,
	WatchableTransport,
	Watchdog,
	WatchdogObserverEvents,
	WatchdogPolicy,
	WatchdogPolicyOptions,
	WatchdogSnapshot,
	WatchdogStore,
} from './types.js';
import { SummaryWindow } from './watch/summary.js';
import type { RestartDecision, WatchHandleInternal, WatchHost } from './watch/host.js';
import { assertWebRtcTransport } from './watch/shape.js';
import { TransportWatchImpl } from './watch/transport-watch.js';

const logger = new Logger('Watchdog');

/** Internal options of `createWatchdog()` (tests inject a clock). */
export interface WatchdogInternalOptions {
	readonly clock?: Clock;
}

class WatchdogObserver extends SafeEmitter<WatchdogObserverEvents> {
	emit<K extends keyof WatchdogObserverEvents & string>(event: K, payload: WatchdogObserverEvents[K]): void {
		this.safeEmit(event, payload);
	}
}

/** Which transport is watched by which watch, across all watchdogs (one watch per transport). */
const watchesByTransport = new WeakMap<object, TransportWatchImpl<WatchableTransport<unknown>>>();

type ActiveState = keyof WatchdogSnapshot['transports'];

export class WatchdogImpl<TransportAppData> implements Watchdog<TransportAppData>, WatchHost {
	readonly policy: WatchdogPolicy<TransportAppData>;
	readonly clock: Clock;
	readonly observer = new WatchdogObserver();
	readonly store: WatchdogStore;
	readonly #liveness: LivenessScheduler;
	readonly #signaling: SignalingRegistry;
	readonly #watches = new Map<string, TransportWatchImpl<WatchableTransport<unknown>>>();
	readonly #byUser = new Map<string, Set<TransportWatchImpl<WatchableTransport<unknown>>>>();
	readonly #pendingUsers = new Map<string, string>(); // transportId → userId, while counted as pending

	// snapshot counters
	readonly #byState: Record<ActiveState, number> = { connecting: 0, connected: 0, disconnected: 0, restarting: 0 };
	readonly #closes: Partial<Record<CloseInfo['reason'], number>> = {};
	#restartsGranted = 0;
	readonly #restartsDenied: Partial<Record<string, number>> = {};
	readonly #timeToConnect = new SummaryWindow();
	readonly #detection = new SummaryWindow();

	constructor(policy: WatchdogPolicy<TransportAppData>, options: WatchdogInternalOptions = {}) {
		this.policy = policy;
		this.clock = options.clock ?? systemClock;
		this.store = policy.store ?? new MemoryStore(this.clock);
		this.#liveness = new LivenessScheduler(policy as WatchdogPolicy<never>, this.clock);
		this.#signaling = new SignalingRegistry({
			closeUser: (userId, reason, detail, detectionMs) => this.#closeUserFor(userId, reason, detail, detectionMs),
		});
	}

	/* ---------------------------------------------------------------- public API */

	watch<Transport extends WatchableTransport<TransportAppData>>(
		transport: Transport,
		options: WatchOptions = {},
	): TransportWatch<Transport> {
		assertWebRtcTransport(transport);
		const existing = watchesByTransport.get(transport);
		if (existing && existing.state !== 'closed' && existing.state !== 'stopped') {
			if (this.#watches.get(transport.id) === existing) return existing as unknown as TransportWatch<Transport>;
			throw new TypeError(
				`watchTransport() transport is already watched with another policy [transportId:${transport.id}]: stop() that watch first`,
			);
		}
		const userId = this.#resolveUserId(transport, options);
		const watch = new TransportWatchImpl<WatchableTransport<unknown>>(transport, this as WatchHost, {
			userId,
			worker: options.worker,
			signal: options.signal,
		});
		watchesByTransport.set(transport, watch);
		this.#watches.set(watch.transportId, watch);
		if (userId !== undefined) {
			let set = this.#byUser.get(userId);
			if (!set) {
				set = new Set();
				this.#byUser.set(userId, set);
			}
			set.add(watch);
		}
		this.#byState.connecting += 1;
		this.observer.emit('watch', { transportId: watch.transportId, userId });
		watch.start();
		if (watch.state === 'connecting') {
			this.#countPending(watch);
			const verdict = userId === undefined ? undefined : this.#signaling.verdictFor(userId);
			if (verdict) queueMicrotask(() => watch.terminate(verdict.reason, { detail: verdict.detail, detectionMs: null }));
		}
		return watch as unknown as TransportWatch<Transport>;
	}

	get(transportId: string): TransportWatch | undefined {
		return this.#watches.get(transportId) as TransportWatch | undefined;
	}

	watchesOf(userId: string | number): TransportWatch[] {
		return [...(this.#byUser.get(String(userId)) ?? [])] as TransportWatch[];
	}

	async canCreate(userId: string | number): Promise<boolean> {
		if (this.policy.maxPendingPerUser === Number.POSITIVE_INFINITY) return true;
		try {
			return (await this.store.countPending(String(userId))) < this.policy.maxPendingPerUser;
		} catch (error) {
			logger.warn('canCreate() store failed [userId:%s]: %o', userId, error);
			return this.policy.onStoreError.pending === 'allow';
		}
	}

	closeUser(userId: string | number, detail?: string): number {
		const watches = this.watchesOf(userId);
		for (const watch of watches) watch.close(detail);
		return watches.length;
	}

	bindSession(userId: string | number, session: SignalingSession, options?: BindSessionOptions): SessionBinding {
		return this.#signaling.bind(String(userId), session, options);
	}

	snapshot(): WatchdogSnapshot {
		const liveness = this.#liveness.stats();
		return {
			transports: { ...this.#byState },
			closes: { ...this.#closes },
			restarts: { granted: this.#restartsGranted, denied: { ...this.#restartsDenied } },
			timeToConnectMs: this.#timeToConnect.summary(),
			detectionMs: this.#detection.summary(),
			liveness,
			users: this.#byUser.size,
		};
	}

	stop(): void {
		for (const watch of [...this.#watches.values()]) watch.stop();
		this.#liveness.stop();
		this.#signaling.stop();
	}

	[Symbol.dispose](): void {
		this.stop();
	}

	/* ---------------------------------------------------------------- WatchHost */

	async decideRestart(userId: string | undefined): Promise<RestartDecision> {
		const limit = this.policy.iceRestart.perUser;
		if (limit === false || userId === undefined) return { allowed: true };
		try {
			const result = await this.store.consumeRestart(userId, limit);
			if (result.allowed) return { allowed: true };
			return { allowed: false, reason: 'rate-limited', retryAfterMs: result.retryAfterMs };
		} catch (error) {
			logger.warn(
				'decideRestart() store failed [userId:%s, onStoreError:%s]: %o',
				userId,
				this.policy.onStoreError.restart,
				error,
			);
			if (this.policy.onStoreError.restart === 'allow') return { allowed: true };
			return { allowed: false, reason: 'store-unavailable', retryAfterMs: null, cause: error };
		}
	}

	stateChanged(watch: WatchHandleInternal, from: WatchState, to: WatchState): void {
		if (from in this.#byState) this.#byState[from as ActiveState] -= 1;
		if (to in this.#byState) this.#byState[to as ActiveState] += 1;
		if (to === 'connected') this.#liveness.track(watch);
		else if (from === 'connected') this.#liveness.untrack(watch);
		this.observer.emit('statechange', { transportId: watch.transportId, from, to });
	}

	connected(watch: WatchHandleInternal, timeToConnectMs: number): void {
		this.#timeToConnect.add(timeToConnectMs);
		this.#releasePending(watch.transportId);
		this.observer.emit('connect', { transportId: watch.transportId, timeToConnectMs });
	}

	restartDecided(watch: WatchHandleInternal, event: IceRestartEvent): void {
		if (event.outcome === 'granted') this.#restartsGranted += 1;
		else this.#restartsDenied[event.reason] = (this.#restartsDenied[event.reason] ?? 0) + 1;
		this.observer.emit('icerestart', { transportId: watch.transportId, userId: watch.userId, ...event });
	}

	ended(watch: WatchHandleInternal, info: CloseInfo): void {
		this.#liveness.untrack(watch);
		this.#releasePending(watch.transportId);
		this.#watches.delete(watch.transportId);
		if (watch.userId !== undefined) {
			const set = this.#byUser.get(watch.userId);
			set?.delete(watch as TransportWatchImpl<WatchableTransport<unknown>>);
			if (set?.size === 0) this.#byUser.delete(watch.userId);
		}
		if (info.reason !== 'stopped') {
			this.#closes[info.reason] = (this.#closes[info.reason] ?? 0) + 1;
			if (info.detectionMs !== null) this.#detection.add(info.detectionMs);
			this.observer.emit('close', info);
		}
	}

	/* ---------------------------------------------------------------- internals */

	#resolveUserId(transport: WatchableTransport<unknown>, options: WatchOptions): string | undefined {
		let id: string | number | undefined = options.userId;
		if (id === undefined) {
			try {
				id = this.policy.userId(transport as WatchableTransport<TransportAppData>);
			} catch (error) {
				throw new TypeError(`\`userId\` threw for transport [transportId:${transport.id}]: ${String(error)}`, { cause: error });
			}
		}
		if (id !== undefined && typeof id !== 'string' && typeof id !== 'number') {
			throw new TypeError(`\`userId\` must resolve to a string or number, got ${typeof id} [transportId:${transport.id}]`);
		}
		const needsUser = this.policy.iceRestart.perUser !== false || this.policy.maxPendingPerUser !== Number.POSITIVE_INFINITY;
		if (id === undefined && needsUser) {
			throw new TypeError(
				`watchTransport() cannot tell which user owns transport [transportId:${transport.id}]: per-user limits need one. Set \`appData.userId\` on the transport, pass \`{ userId }\` as watch options, give the policy a \`userId\` function, or turn the limits off (\`iceRestart.perUser: false\`, \`maxPendingPerUser: Infinity\`)`,
			);
		}
		return id === undefined ? undefined : String(id);
	}

	#countPending(watch: TransportWatchImpl<WatchableTransport<unknown>>): void {
		const { userId, transportId } = watch;
		const max = this.policy.maxPendingPerUser;
		if (userId === undefined || max === Number.POSITIVE_INFINITY) return;
		this.#pendingUsers.set(transportId, userId);
		// A crashed node must not hold a user's budget forever: entries expire after the deadline.
		const ttlMs = Math.min(this.policy.connectTimeoutMs, 2_147_483_647) + 5_000;
		this.store.addPending(userId, transportId, ttlMs).then(
			(count) => {
				if (count > max && watch.state === 'connecting') {
					logger.warn('pending cap reached [userId:%s, transportId:%s, pending:%d, max:%d]', userId, transportId, count, max);
					watch.terminate('pending-limit', {
						detail: `user ${userId} already holds ${count - 1} never-connected transports (maxPendingPerUser: ${max})`,
					});
				}
			},
			(error: unknown) => {
				logger.warn(
					'addPending() store failed [userId:%s, onStoreError:%s]: %o',
					userId,
					this.policy.onStoreError.pending,
					error,
				);
				if (this.policy.onStoreError.pending === 'deny' && watch.state === 'connecting') {
					watch.terminate('pending-limit', { detail: `the store failed and onStoreError.pending is 'deny': ${String(error)}` });
				}
			},
		);
	}

	#releasePending(transportId: string): void {
		const userId = this.#pendingUsers.get(transportId);
		if (userId === undefined) return;
		this.#pendingUsers.delete(transportId);
		this.store.removePending(userId, transportId).catch((error: unknown) => {
			logger.warn('removePending() store failed [userId:%s]: %o', userId, error);
		});
	}

	#closeUserFor(userId: string, reason: 'signaling-closed' | 'signaling-lost', detail: string, detectionMs: number | null): void {
		for (const watch of [...(this.#byUser.get(userId) ?? [])]) watch.terminate(reason, { detail, detectionMs });
	}
}

/** One watchdog per policy object, so `watchTransport(t, policy)` shares per-user state. */
const watchdogsByPolicy = new WeakMap<object, WatchdogImpl<unknown>>();

/**
 * Creates a watchdog: the registry that shares per-user state (restart limits, pending counts,
 * signaling sessions) across the transports it watches.
 */
export function createWatchdog<TransportAppData = Record<string, unknown>>(
	policy: WatchdogPolicy<TransportAppData> | WatchdogPolicyOptions<TransportAppData> = {},
	options: WatchdogInternalOptions = {},
): Watchdog<TransportAppData> {
	return new WatchdogImpl(definePolicy(policy), options);
}

/**
 * Watches a mediasoup WebRtcTransport: a first-connect deadline, departure detection and gated
 * ICE restarts, each close with a reason. Transports watched with the same policy object share
 * per-user state.
 */
export function watchTransport<Transport extends WatchableTransport<unknown>>(
	transport: Transport,
	// biome-ignore lint/suspicious/noExplicitAny: a policy for any appData type may watch this transport
	policy: WatchdogPolicy<any> | WatchdogPolicyOptions<Transport['appData']> = {},
	options?: WatchOptions,
): TransportWatch<Transport> {
	if (typeof policy !== 'object' || policy === null) {
		throw new TypeError(`\`policy\` must be an object, got ${policy === null ? 'null' : typeof policy}`);
	}
	let watchdog = watchdogsByPolicy.get(policy);
	if (!watchdog) {
		watchdog = new WatchdogImpl<unknown>(definePolicy(policy as WatchdogPolicyOptions<unknown>));
		watchdogsByPolicy.set(policy, watchdog);
	}
	return watchdog.watch(transport as WatchableTransport<unknown>, options) as unknown as TransportWatch<Transport>;
}

/** The watchdog `watchTransport()` uses for a policy object (to reach `closeUser()`, `snapshot()`…). */
export function watchdogFor<TransportAppData>(
	policy: WatchdogPolicy<TransportAppData> | WatchdogPolicyOptions<TransportAppData>,
): Watchdog<TransportAppData> {
	let watchdog = watchdogsByPolicy.get(policy);
	if (!watchdog) {
		watchdog = new WatchdogImpl<unknown>(definePolicy(policy as WatchdogPolicyOptions<unknown>));
		watchdogsByPolicy.set(policy, watchdog);
	}
	return watchdog as unknown as Watchdog<TransportAppData>;
}
