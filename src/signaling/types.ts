// Public types of signaling-fused presence: the sessions `bindSession()` follows and its handle.

/* ------------------------------------------------------------------ sessions, by shape */

/**
 * A `ws` WebSocket (server side): an EventEmitter whose `'close'` passes `(code, reason)`. With
 * `ping()` it can also carry the watchdog's heartbeat (`heartbeatMs`).
 */
export interface NodeWebSocketLike {
	readonly readyState: number;
	// biome-ignore lint/suspicious/noExplicitAny: must accept ws's overloaded, typed listeners
	on(event: string, listener: (...args: any[]) => void): unknown;
	// biome-ignore lint/suspicious/noExplicitAny: see above
	off(event: string, listener: (...args: any[]) => void): unknown;
	ping?(): void;
	terminate?(): void;
}

/** What a browser-style `'close'` event carries (a DOM `CloseEvent`). */
export interface CloseEventLike {
	readonly code: number;
	readonly reason?: string;
}

/** A WebSocket with the DOM API (`addEventListener('close', …)`): undici's, a browser's, ws's own. */
export interface EventTargetWebSocketLike {
	readonly readyState: number;
	// biome-ignore lint/suspicious/noExplicitAny: must accept the DOM's overloaded, typed listeners
	addEventListener(type: string, listener: (event: any) => void): void;
	// biome-ignore lint/suspicious/noExplicitAny: see above
	removeEventListener(type: string, listener: (event: any) => void): void;
}

/** A Socket.IO server socket (`io.on('connection', (socket) => …)`). */
export interface SocketIoSocketLike {
	readonly id: string;
	readonly connected: boolean;
	readonly nsp: object;
	// biome-ignore lint/suspicious/noExplicitAny: must accept Socket.IO's typed event emitter
	on(event: any, listener: (...args: any[]) => void): unknown;
	// biome-ignore lint/suspicious/noExplicitAny: see above
	off(event: any, listener: (...args: any[]) => void): unknown;
}

/** What a WebTransport session's `closed` promise resolves with (W3C `WebTransportCloseInfo`). */
export interface WebTransportCloseInfoLike {
	readonly closeCode?: number;
	readonly reason?: string;
}

/**
 * A WebTransport session (W3C API): `closed` resolves on a clean close and rejects when the session
 * is lost. The server sessions of `@fails-components/webtransport` fit.
 */
export interface WebTransportSessionLike {
	readonly closed: PromiseLike<unknown>;
}

/**
 * A signaling session `bindSession()` can follow, recognised by its shape (never by `instanceof`):
 * a `ws` WebSocket, a DOM-style WebSocket, a Socket.IO server socket, a WebTransport session or an
 * `AbortSignal` (for any other channel: abort it when the user's session ends).
 */
export type SignalingSession =
	| NodeWebSocketLike
	| EventTargetWebSocketLike
	| SocketIoSocketLike
	| WebTransportSessionLike
	| AbortSignal;

/** Which adapter follows a bound session. */
export type SessionKind = 'ws' | 'websocket' | 'socket.io' | 'webtransport' | 'abort-signal';

/* ------------------------------------------------------------------ how a session ended */

/** How a bound session ended, as its adapter saw it. Plain, frozen data. */
export interface SessionEnd {
	readonly kind: SessionKind;
	/**
	 * The verdict: `true` closes the user's transports at once with `signaling-closed`; `false`
	 * starts the reconnect grace that ends in `signaling-lost`. See docs/signaling.md for the rule of
	 * each kind; `isClean` overrides it.
	 */
	readonly clean: boolean;
	/** WebSocket close code, or WebTransport `closeCode`. */
	readonly code: number | undefined;
	/**
	 * WebSocket close reason, Socket.IO disconnect reason (`'transport close'`…), WebTransport
	 * `reason`, or the text of an abort reason / rejection.
	 */
	readonly reason: string | undefined;
	/** The missed heartbeat, the WebTransport rejection or the abort reason, when there is one. */
	readonly cause?: unknown;
	/** True when the watchdog's own heartbeat found the session dead (it then terminated the socket). */
	readonly heartbeat: boolean;
	/** Milliseconds after `bindSession()` that the session ended. */
	readonly afterMs: number;
}

/* ------------------------------------------------------------------ bindSession() */

export interface BindSessionOptions {
	/**
	 * After an abrupt end, how long a new `bindSession()` for the same user may take before the
	 * user's transports are closed with `signaling-lost`. `Infinity`: never (the grace only ends
	 * with a new session or `unbind()`). Overrides the policy's `signalingGraceMs`.
	 * @default policy.signalingGraceMs (10_000)
	 */
	readonly graceMs?: number;
	/**
	 * `ws` WebSockets only (they need `ping()`): send a ping every `heartbeatMs` and, when the pong
	 * of the previous one has not come back by then, terminate the socket and treat the session as
	 * lost (abrupt). Catches a frozen or unplugged client that never closes its socket (`ws` sends
	 * no pings by default). `Infinity`: off.
	 * @default Infinity
	 * @example 15_000 // a frozen client is found 15–30 s after its last pong
	 */
	readonly heartbeatMs?: number;
	/**
	 * Overrides the clean/abrupt rule of the adapter, e.g. to treat a Chromium 1001 as abrupt or an
	 * application close code as clean. Receives the end with the adapter's own verdict in `clean`.
	 * @example (end) => end.clean || end.code === 4000
	 */
	readonly isClean?: (end: SessionEnd) => boolean;
}

/**
 * Where a binding is:
 * - `active`: following the session;
 * - `grace`: the session ended abruptly; a new `bindSession()` for the user within the grace keeps
 *   the user's transports;
 * - `closed`: the session ended cleanly and the user's transports were closed (`signaling-closed`);
 * - `lost`: the grace ran out and the user's transports were closed (`signaling-lost`);
 * - `replaced`: a newer `bindSession()` for the same user took over (while active or in grace);
 * - `unbound`: `unbind()` or `watchdog.stop()` released it.
 */
export type SessionBindingState = 'active' | 'grace' | 'closed' | 'lost' | 'replaced' | 'unbound';

/** Returned by `bindSession()`: the link between one user and one signaling session. */
export interface SessionBinding extends Disposable {
	readonly userId: string;
	readonly kind: SessionKind;
	readonly state: SessionBindingState;
	/** How the session ended; `undefined` while it has not. */
	readonly end: SessionEnd | undefined;
	/**
	 * Stops following the session: removes its listeners and heartbeat, cancels a running grace and
	 * forgets a verdict it left for late transports. The transports stay as they are. Idempotent;
	 * a no-op once the binding was replaced.
	 */
	unbind(): void;
}
