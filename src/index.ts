export type { Clock } from './clock.js';
export type { ListenerErrorEvent } from './emitter.js';
export {
	IceRestartDeniedError,
	IceRestartFailedError,
	isIceRestartDeniedError,
	isIceRestartFailedError,
	isWatchdogError,
	WatchdogError,
} from './errors.js';
export { MemoryStore } from './gate/memory-store.js';
export { DEFAULT_POLICY, definePolicy } from './policy.js';
export { CLOSE_REASONS, ICE_RESTART_DENIAL_REASONS } from './reasons.js';
export type {
	BindSessionOptions,
	CloseEventLike,
	EventTargetWebSocketLike,
	NodeWebSocketLike,
	SessionBinding,
	SessionBindingState,
	SessionEnd,
	SessionKind,
	SignalingSession,
	SocketIoSocketLike,
	WebTransportCloseInfoLike,
	WebTransportSessionLike,
} from './signaling/types.js';
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
	StormLimit,
	Summary,
	TakeoverChannel,
	TransportStatsLike,
	TransportWatch,
	TransportWatchEvents,
	TypedEvents,
	WatchableTransport,
	Watchdog,
	WatchdogObserverEvents,
	WatchdogPolicy,
	WatchdogPolicyOptions,
	WatchdogSnapshot,
	WatchdogStore,
	WatchListenerErrorEvent,
	WatchOptions,
	WatchState,
	WorkerLike,
	WorkerLivenessSnapshot,
} from './types.js';
export { createWatchdog, watchdogFor, watchTransport } from './watch-transport.js';
