export { definePolicy, DEFAULT_POLICY } from './policy.js';
export { watchTransport, createWatchdog, watchdogFor } from './watchdog.js';
export { MemoryStore } from './gate/memory-store.js';
export {
	WatchdogError,
	IceRestartDeniedError,
	IceRestartFailedError,
	WatchClosedError,
	isWatchdogError,
	isIceRestartDeniedError,
	isIceRestartFailedError,
	isWatchClosedError,
} from './errors.js';
export type { Clock } from './clock.js';
export type { ListenerErrorEvent } from './emitter.js';
export type { BindSessionOptions, SessionBinding, SignalingSession } from './signaling/types.js';
export type {
	CloseInfo,
	CloseReason,
	ConnectEvent,
	ConsumeResult,
	DisconnectEvent,
	EventSourceLike,
	IceParametersLike,
	IceRestartDenialReason,
	IceRestartEvent,
	IceRestartPolicyOptions,
	LivenessPolicyOptions,
	PerUserLimit,
	ReconnectEvent,
	StateChangeEvent,
	StoreErrorAction,
	Summary,
	TransportStatsLike,
	TransportWatch,
	TransportWatchEvents,
	TypedEvents,
	WatchOptions,
	WatchState,
	WatchableTransport,
	Watchdog,
	WatchdogObserverEvents,
	WatchdogPolicy,
	WatchdogPolicyOptions,
	WatchdogSnapshot,
	WatchdogStore,
	WorkerLike,
} from './types.js';
