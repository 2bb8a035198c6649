// PLACEHOLDER — signaling adapters (issue 6) define these.

/** A signaling session the watchdog can bind to a user (ws WebSocket, Socket.IO socket, WebTransport session, AbortSignal). */
export type SignalingSession = object;

export interface BindSessionOptions {
	/** Overrides the policy's `signalingGraceMs` for this session. */
	readonly graceMs?: number;
}

/** Returned by `bindSession()`: unbind to stop following that session. */
export interface SessionBinding {
	readonly userId: string;
	unbind(): void;
}
