import { assertWatchOptions, assertWebRtcTransport } from './checks.js';
import type { Clock } from './clock.js';
import { systemClock, Timeouts } from './clock.js';
import { SafeEmitter } from './emitter.js';
import { MemoryStore } from './gate/memory-store.js';
import { PendingCap } from './gate/pending-cap.js';
import { RestartGate } from './gate/restart-gate.js';
import { Takeover } from './gate/takeover.js';
import { LivenessScheduler } from './liveness/scheduler.js';
import { Logger } from './logger.js';
import { defaultUserId, definePolicy } from './policy.js';
import { checkPorts, PortBudget } from './ports/budget.js';
import type { IceRestartDenialReason } from './reasons.js';
import { SignalingRegistry } from './signaling/registry.js';
import type { BindSessionOptions, SessionBinding, SignalingSession } from './signaling/types.js';
import { SnapshotCounters } from './snapshot/counters.js';
import type {
	CloseInfo,
	CloseUserOptions,
	IceRestartEvent,
	TransportWatch,
	TransportWatchEvents,
	WatchableTransport,
	Watchdog,
	WatchdogObserverEvents,
	WatchdogPolicy,
	WatchdogPolicyOptions,
	WatchdogSnapshot,
	WatchdogStore,
	WatchOptions,
	WatchState,
} from './types.js';
import { userKey } from './user-key.js';
import type { RestartDecision, WatchHandleInternal, WatchHost } from './watch/host.js';
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

export class WatchdogImpl<TransportAppData> implements Watchdog<TransportAppData>, WatchHost {
	readonly policy: WatchdogPolicy<TransportAppData>;
	readonly clock: Clock;
	readonly timeouts: Timeouts;
	readonly observer = new WatchdogObserver();
	readonly store: WatchdogStore;
	readonly #liveness: LivenessScheduler;
	readonly #signaling: SignalingRegistry;
	readonly #watches = new Map<string, TransportWatchImpl<WatchableTransport<unknown>>>();
	/**
	 * Each user's watches in the order watched. An array, not a Set: a user mostly has one or two
	 * transports, ~50 B against ~150 B. Replaced on every change, never changed in place.
	 */
	readonly #byUser = new Map<string, ReadonlyArray<TransportWatchImpl<WatchableTransport<unknown>>>>();
	readonly #restartGate: RestartGate;
	readonly #pendingCap: PendingCap;
	readonly #takeover: Takeover | undefined;

	readonly #counters = new SnapshotCounters(() => this.clock.now());
	readonly #ports = new PortBudget();

	constructor(policy: WatchdogPolicy<TransportAppData>, options: WatchdogInternalOptions = {}) {
		this.policy = policy;
		this.clock = options.clock ?? systemClock;
		this.timeouts = new Timeouts(this.clock);
		this.store = policy.store ?? new MemoryStore(this.clock);
		this.#restartGate = new RestartGate(policy as WatchdogPolicy<never>, this.store, this.clock);
		this.#pendingCap = new PendingCap(policy as WatchdogPolicy<never>, this.store);
		this.#liveness = new LivenessScheduler(policy as WatchdogPolicy<never>, this.clock);
		this.#signaling = new SignalingRegistry({
			clock: this.clock,
			graceMs: policy.signalingGraceMs,
			closeUser: (userId, reason, detail, detectionMs) => this.#closeUserFor(userId, reason, detail, detectionMs),
		});
		this.#takeover = policy.takeover
			? new Takeover(policy.takeover, {
					supersede: (userId, detail) => this.#closeUserFor(userId, 'superseded', detail, null),
					reportError: (event) => this.observer.emit('storeerror', event),
				})
			: undefined;
	}

	/* ---------------------------------------------------------------- public API */

	watch<Transport extends WatchableTransport<TransportAppData>>(
		transport: Transport,
		options: WatchOptions = {},
	): TransportWatch<Transport> {
		assertWebRtcTransport(transport);
		assertWatchOptions(options);
		const ports = checkPorts(options.ports);
		const existing = watchesByTransport.get(transport);
		if (existing && existing.state !== 'closed' && existing.state !== 'stopped') {
			if (this.#watches.get(transport.id) === existing) return existing as unknown as TransportWatch<Transport>;
			throw new TypeError(
				`watchTransport() transport is already watched with another policy [transportId:${transport.id}]: stop() that watch first`,
			);
		}
		// Ended from inside a listener, the previous watch may not have announced its end yet.
		existing?.announceEnd();
		const userId = this.#resolveUserId(transport, options);
		const watch = new TransportWatchImpl<WatchableTransport<unknown>>(transport, this as WatchHost, {
			userId,
			worker: options.worker,
			signal: options.signal,
		});
		watchesByTransport.set(transport, watch);
		this.#watches.set(watch.transportId, watch);
		if (userId !== undefined) {
			const watches = this.#byUser.get(userId);
			this.#byUser.set(userId, watches ? watches.concat([watch]) : [watch]);
		}
		this.#counters.watched();
		this.#ports.hold(watch, pidOf(options.worker), ports, transport);
		logger.debug('watch() [transportId:%s, userId:%s]', watch.transportId, userId);
		this.observer.emit('watch', { transportId: watch.transportId, userId });
		watch.start();
		if (watch.state === 'connecting') {
			this.#pendingCap.admit(watch);
		}
		// Late creation: a transport of a user whose session already ended follows that verdict,
		// in whatever state it was watched. Read again on the microtask, so a bindSession() right
		// after watch() (the user is back) still keeps the transport.
		if (userId !== undefined && this.#signaling.verdictFor(userId)) {
			queueMicrotask(() => {
				const verdict = this.#signaling.verdictFor(userId);
				if (verdict) watch.terminate(verdict.reason, { detail: verdict.detail, detectionMs: null });
			});
		}
		return watch as unknown as TransportWatch<Transport>;
	}

	get(transportId: string): TransportWatch | undefined {
		return this.#watches.get(transportId) as TransportWatch | undefined;
	}

	watchesOf(userId: string | number): TransportWatch[] {
		return [...(this.#byUser.get(userKey('watchesOf()', userId)) ?? [])] as TransportWatch[];
	}

	canCreate(userId: string | number): Promise<boolean> {
		return this.#pendingCap.canCreate(userId);
	}

	closeUser(userId: string | number, detail?: string | CloseUserOptions): number {
		const watches = [...(this.#byUser.get(userKey('closeUser()', userId)) ?? [])];
		const options: CloseUserOptions = typeof detail === 'object' && detail !== null ? detail : { detail };
		const reason = options.reason ?? 'app';
		if (reason !== 'app' && reason !== 'client-left') {
			throw new TypeError(`closeUser() reason must be 'app' or 'client-left', got ${String(reason)}`);
		}
		logger.debug('closeUser() [userId:%s, reason:%s, transports:%d]', userId, reason, watches.length);
		for (const watch of watches) watch.terminate(reason, { detail: options.detail });
		return watches.length;
	}

	bindSession(userId: string | number, session: SignalingSession, options?: BindSessionOptions): SessionBinding {
		const key = userKey('bindSession()', userId);
		const binding = this.#signaling.bind(key, session, options);
		this.#takeover?.announce(key);
		return binding;
	}

	snapshot(): WatchdogSnapshot {
		return { ...this.#counters.snapshot(this.#liveness.stats(), this.#byUser.size), ports: this.#ports.snapshot() };
	}

	stop(): void {
		for (const watch of [...this.#watches.values()]) watch.stop();
		this.#liveness.stop();
		this.#signaling.stop();
		this.#takeover?.stop();
	}

	[Symbol.dispose](): void {
		this.stop();
	}

	/* ---------------------------------------------------------------- WatchHost */

	precheckRestart(ended: boolean, connectedOnce: boolean): IceRestartDenialReason | undefined {
		return this.#restartGate.precheck(ended, connectedOnce);
	}

	decideRestart(userId: string | undefined): Promise<RestartDecision> {
		return this.#restartGate.decide(userId);
	}

	stateChanged(watch: WatchHandleInternal, from: WatchState, to: WatchState): void {
		this.#counters.stateChanged(from, to);
		if (to === 'connected') this.#liveness.track(watch, watch.worker);
		else if (from === 'connected') this.#liveness.untrack(watch);
		if (to === 'disconnected') this.#hintSiblings(watch);
		this.observer.emit('statechange', { transportId: watch.transportId, from, to });
	}

	connected(watch: WatchHandleInternal, timeToConnectMs: number): void {
		this.#counters.connected(timeToConnectMs);
		this.#pendingCap.release(watch.transportId);
		this.observer.emit('connect', { transportId: watch.transportId, timeToConnectMs });
	}

	restartDecided(watch: WatchHandleInternal, event: IceRestartEvent): void {
		this.#counters.restartDecided(event);
		this.observer.emit('icerestart', { transportId: watch.transportId, userId: watch.userId, ...event });
	}

	hint(watch: WatchHandleInternal, source: 'producer-score'): void {
		this.#liveness.hint(watch, source);
	}

	/** A transport judged gone or ICE-disconnected: its user's other transports are polled out of turn. */
	#hintSiblings(watch: WatchHandleInternal): void {
		if (watch.userId === undefined) return;
		for (const sibling of this.#byUser.get(watch.userId) ?? []) {
			if (sibling !== watch) this.#liveness.hint(sibling, 'sibling');
		}
	}

	ended(watch: WatchHandleInternal, info: CloseInfo): void {
		this.#liveness.untrack(watch);
		this.#ports.release(watch);
		if (info.reason === 'inactive' || info.reason === 'ice-disconnected') this.#hintSiblings(watch);
		// A watch ended from inside a listener announces its end a microtask later; by then the app
		// may have watched the transport again: its entry and pending slot belong to the new watch.
		if (this.#watches.get(watch.transportId) === watch) {
			this.#pendingCap.release(watch.transportId);
			this.#watches.delete(watch.transportId);
		}
		const watches = watch.userId === undefined ? undefined : this.#byUser.get(watch.userId);
		if (watch.userId !== undefined && watches !== undefined) {
			const left = watches.filter((other) => other !== watch);
			if (left.length === 0) this.#byUser.delete(watch.userId);
			else this.#byUser.set(watch.userId, left);
		}
		if (info.reason !== 'stopped') {
			this.#counters.closed(info);
			this.observer.emit('close', info);
		}
	}

	listenerThrew(watch: WatchHandleInternal, event: keyof TransportWatchEvents, error: unknown): void {
		// The observer's own SafeEmitter catches its listeners: one that throws here becomes the
		// observer's `listenererror`, never another `watchlistenererror`.
		this.observer.emit('watchlistenererror', { transportId: watch.transportId, userId: watch.userId, event, error });
	}

	/* ---------------------------------------------------------------- internals */

	#resolveUserId(transport: WatchableTransport<unknown>, options: WatchOptions): string | undefined {
		let id: string | number | undefined = options.userId;
		let source = 'the watch options (`{ userId }`)';
		if (id === undefined) {
			source = this.policy.userId === defaultUserId ? '`appData.userId`' : "the policy's `userId` function";
			try {
				id = this.policy.userId(transport as WatchableTransport<TransportAppData>);
			} catch (error) {
				throw new TypeError(`\`userId\` threw for transport [transportId:${transport.id}]: ${String(error)}`, { cause: error });
			}
		}
		const needsUser = this.policy.iceRestart.perUser !== false || this.policy.maxPendingPerUser !== Number.POSITIVE_INFINITY;
		if (id === undefined && needsUser) {
			throw new TypeError(
				`watchTransport() cannot tell which user owns transport [transportId:${transport.id}]: per-user limits need one. Set \`appData.userId\` on the transport, pass \`{ userId }\` as watch options, give the policy a \`userId\` function, or turn the limits off (\`iceRestart.perUser: false\`, \`maxPendingPerUser: Infinity\`)`,
			);
		}
		// Checked like closeUser() and canCreate() check it: a user no other method could name is refused.
		return id === undefined ? undefined : userKey('watchTransport()', id, ` from ${source} [transportId:${transport.id}]`);
	}

	#closeUserFor(
		userId: string,
		reason: 'signaling-closed' | 'signaling-lost' | 'superseded',
		detail: string,
		detectionMs: number | null,
	): void {
		for (const watch of [...(this.#byUser.get(userId) ?? [])]) watch.terminate(reason, { detail, detectionMs });
	}
}

/** The worker's pid, when the app gave a mediasoup Worker. */
function pidOf(worker: object | undefined): number | null {
	const pid = (worker as { pid?: unknown } | undefined)?.pid;
	return typeof pid === 'number' ? pid : null;
}

/**
 * The internal factory: tests pass a clock. The public `createWatchdog(policy)` (watch-transport.ts)
 * takes no such option.
 */
export function createWatchdog<TransportAppData = Record<string, unknown>>(
	policy: WatchdogPolicy<TransportAppData> | WatchdogPolicyOptions<TransportAppData> = {},
	options: WatchdogInternalOptions = {},
): Watchdog<TransportAppData> {
	return new WatchdogImpl(definePolicy(policy), options);
}
