// The internal contract between a TransportWatch and the watchdog that owns it.
import type { Clock, Timeouts } from '../clock.js';
import type {
	CloseInfo,
	IceRestartDenialReason,
	IceRestartEvent,
	TransportWatchEvents,
	WatchableTransport,
	WatchdogPolicy,
	WatchState,
} from '../types.js';

export type RestartDecision =
	| { readonly allowed: true }
	| {
			readonly allowed: false;
			readonly reason: IceRestartDenialReason;
			readonly retryAfterMs: number | null;
			readonly cause?: unknown;
	  };

export interface WatchHost {
	readonly policy: WatchdogPolicy<never>;
	readonly clock: Clock;
	/** p-timeout on `clock`: the connect deadline and the stats reads of a restart. */
	readonly timeouts: Timeouts;
	/** The restart gate's synchronous checks (closed, never connected): the reason to refuse, if any. */
	precheckRestart(ended: boolean, connectedOnce: boolean): IceRestartDenialReason | undefined;
	/** The restart gate's per-user limit, asked once the synchronous checks passed. */
	decideRestart(userId: string | undefined): Promise<RestartDecision>;
	stateChanged(watch: WatchHandleInternal, from: WatchState, to: WatchState): void;
	connected(watch: WatchHandleInternal, timeToConnectMs: number): void;
	restartDecided(watch: WatchHandleInternal, event: IceRestartEvent): void;
	ended(watch: WatchHandleInternal, info: CloseInfo): void;
	/** A cheap event suggests the transport's client may be gone: poll it out of turn (docs/liveness.md, "Hints"). */
	hint?(watch: WatchHandleInternal, source: 'producer-score'): void;
	/** An app listener on the watch threw while handling `event` (already logged by the watch). */
	listenerThrew(watch: WatchHandleInternal, event: keyof TransportWatchEvents, error: unknown): void;
}

/** What the watchdog's parts (liveness, signaling, pending cap) may do with a watch. */
export interface WatchHandleInternal {
	readonly transportId: string;
	readonly userId: string | undefined;
	readonly state: WatchState;
	readonly connectedOnce: boolean;
	/** The `{ worker }` the app gave, if any (liveness groups transports per worker). */
	readonly worker?: object | undefined;
	/** The transport while the watch is active. */
	readonly activeTransport: WatchableTransport<unknown> | undefined;
	/** Ends the watch for a reason the watchdog causes, closing the transport. */
	terminate(reason: Exclude<CloseInfo['reason'], 'stopped'>, options?: TerminateOptions): void;
}

export interface TerminateOptions {
	readonly detail?: string | undefined;
	readonly detectionMs?: number | null | undefined;
}
