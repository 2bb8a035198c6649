// Recognises a signaling session by its shape and translates its end into clean / abrupt.
// No import of ws, socket.io or any WebTransport package: apps may load any version, or none.
import { describeKind } from '../checks.js';
import type {
	CloseEventLike,
	EventTargetWebSocketLike,
	NodeWebSocketLike,
	SessionKind,
	SocketIoSocketLike,
	WebTransportCloseInfoLike,
	WebTransportSessionLike,
} from './types.js';

/** An end as an adapter reports it, before `isClean` and timing are applied. */
export interface AdapterEnd {
	readonly clean: boolean;
	readonly code?: number | undefined;
	readonly reason?: string | undefined;
	readonly cause?: unknown;
	/** What happened, for `CloseInfo.detail`. */
	readonly detail: string;
}

/** One recognised session. */
export interface SessionAdapter {
	readonly kind: SessionKind;
	/** The session when it can carry the watchdog's ping/pong heartbeat (a `ws` WebSocket). */
	readonly pingable: PingableSocket | undefined;
	/**
	 * Starts following the session and calls `onEnd` at most once (on a later turn, never during
	 * this call). Returns the function that removes every listener added.
	 */
	follow(onEnd: (end: AdapterEnd) => void): () => void;
}

/** A `ws` WebSocket as the heartbeat uses it. */
export interface PingableSocket {
	ping(): void;
	terminate?(): void;
	// biome-ignore lint/suspicious/noExplicitAny: ws's typed overloads
	on(event: string, listener: (...args: any[]) => void): unknown;
	// biome-ignore lint/suspicious/noExplicitAny: see above
	off(event: string, listener: (...args: any[]) => void): unknown;
}

/** WebSocket close codes that mean the peer left on purpose. */
const CLEAN_WEBSOCKET_CODES: ReadonlySet<number> = new Set([
	1000, // normal closure
	1001, // going away (tab closed, navigation)
	1005, // a close frame without a status code: `ws.close()` called with no arguments
]);

/** Socket.IO disconnect reasons that end the session for good (the ones it will not recover). */
const CLEAN_SOCKET_IO_REASONS: ReadonlySet<string> = new Set(['client namespace disconnect', 'server namespace disconnect']);

const WS_CLOSED = 3;

type Bag = Record<string, unknown>;

const isFunction = (value: unknown): value is (...args: never[]) => unknown => typeof value === 'function';
const isObject = (value: unknown): value is Bag => (typeof value === 'object' || typeof value === 'function') && value !== null;

/** The adapter for `session`, or a TypeError that says what was expected. */
export function adapterFor(session: unknown, userId: string): SessionAdapter {
	if (isObject(session)) {
		if (isAbortSignal(session)) return abortSignalAdapter(session);
		if (isObject(session.closed) && isFunction(session.closed.then)) {
			return webTransportAdapter(session as unknown as WebTransportSessionLike);
		}
		if (isObject(session.nsp) && typeof session.connected === 'boolean' && isFunction(session.on) && isFunction(session.off)) {
			return socketIoAdapter(session as unknown as SocketIoSocketLike);
		}
		if (typeof session.readyState === 'number' && isFunction(session.on) && isFunction(session.off)) {
			return nodeWebSocketAdapter(session as unknown as NodeWebSocketLike);
		}
		if (
			typeof session.readyState === 'number' &&
			isFunction(session.addEventListener) &&
			isFunction(session.removeEventListener)
		) {
			return eventTargetWebSocketAdapter(session as unknown as EventTargetWebSocketLike);
		}
	}
	throw new TypeError(
		`bindSession() cannot follow this session [userId:${userId}]: expected a \`ws\` WebSocket (\`on\`/\`off\` and \`readyState\`), a WebSocket with \`addEventListener\` and \`readyState\`, a Socket.IO server socket (\`nsp\`, \`connected\`, \`on\`/\`off\`), a WebTransport session (a \`closed\` promise) or an AbortSignal; got ${describeKind(session)}`,
	);
}

function isAbortSignal(value: Bag): value is Bag & AbortSignal {
	return (
		typeof value.aborted === 'boolean' &&
		'reason' in value &&
		isFunction(value.throwIfAborted) &&
		isFunction(value.addEventListener) &&
		isFunction(value.removeEventListener)
	);
}

/** The event that ends a session: its listener added and removed, its arguments read as an end. */
interface EndEvent<Args extends unknown[]> {
	add(listener: (...args: Args) => void): void;
	remove(listener: (...args: Args) => void): void;
	read(...args: Args): AdapterEnd;
}

/**
 * `SessionAdapter.follow()` for every kind of session: listens for `event` and reports the end it
 * reads, once. A session that has already ended (`ended` given) gets no listener: `ended()` is
 * reported on the next microtask unless detached by then. Returns the detach.
 */
function followEnd<Args extends unknown[]>(
	onEnd: (end: AdapterEnd) => void,
	ended: (() => AdapterEnd) | undefined,
	event: EndEvent<Args>,
): () => void {
	let detached = false;
	if (ended) {
		queueMicrotask(() => {
			if (!detached) onEnd(ended());
		});
		return () => {
			detached = true;
		};
	}
	const listener = (...args: Args): void => {
		detach();
		onEnd(event.read(...args));
	};
	const detach = (): void => {
		if (detached) return;
		detached = true;
		event.remove(listener);
	};
	event.add(listener);
	return detach;
}

/* ------------------------------------------------------------------ WebSocket */

function describeCode(code: number, reason: string): string {
	return `WebSocket closed with code ${code}${reason ? ` (${reason})` : ''}`;
}

function webSocketEnd(code: number, reason: string): AdapterEnd {
	return { clean: CLEAN_WEBSOCKET_CODES.has(code), code, reason, detail: describeCode(code, reason) };
}

const alreadyClosed: AdapterEnd = {
	clean: false,
	reason: 'closed before bindSession()',
	detail: 'the WebSocket was already closed when bound',
};

function nodeWebSocketAdapter(socket: NodeWebSocketLike): SessionAdapter {
	return webSocketAdapter('ws', socket, isFunction(socket.ping) ? (socket as PingableSocket) : undefined, {
		add: (listener) => socket.on('close', listener),
		remove: (listener) => socket.off('close', listener),
		read: (code: unknown, reason: unknown) => webSocketEnd(typeof code === 'number' ? code : 1005, reasonText(reason)),
	});
}

function eventTargetWebSocketAdapter(socket: EventTargetWebSocketLike): SessionAdapter {
	return webSocketAdapter('websocket', socket, undefined, {
		add: (listener) => socket.addEventListener('close', listener),
		remove: (listener) => socket.removeEventListener('close', listener),
		read: (event: CloseEventLike | undefined) =>
			webSocketEnd(typeof event?.code === 'number' ? event.code : 1005, event?.reason ?? ''),
	});
}

/** Either kind of WebSocket: the two differ only in how the 'close' listener is added and what it gets. */
function webSocketAdapter<Args extends unknown[]>(
	kind: 'ws' | 'websocket',
	socket: { readonly readyState: number },
	pingable: PingableSocket | undefined,
	close: EndEvent<Args>,
): SessionAdapter {
	return {
		kind,
		pingable,
		follow: (onEnd) => followEnd(onEnd, socket.readyState === WS_CLOSED ? () => alreadyClosed : undefined, close),
	};
}

function reasonText(reason: unknown): string {
	if (typeof reason === 'string') return reason;
	if (reason instanceof Uint8Array) return Buffer.from(reason.buffer, reason.byteOffset, reason.byteLength).toString('utf8');
	return '';
}

/* ------------------------------------------------------------------ Socket.IO */

const alreadyDisconnected: AdapterEnd = {
	clean: false,
	reason: 'disconnected before bindSession()',
	detail: 'the Socket.IO socket was already disconnected when bound',
};

function socketIoAdapter(socket: SocketIoSocketLike): SessionAdapter {
	return {
		kind: 'socket.io',
		pingable: undefined,
		follow: (onEnd) =>
			followEnd(onEnd, socket.connected ? undefined : () => alreadyDisconnected, {
				add: (listener) => socket.on('disconnect', listener),
				remove: (listener) => socket.off('disconnect', listener),
				read: (reason: unknown, description: unknown) => {
					const text = typeof reason === 'string' ? reason : String(reason);
					return {
						clean: CLEAN_SOCKET_IO_REASONS.has(text),
						reason: text,
						...(description === undefined ? {} : { cause: description }),
						detail: `Socket.IO socket disconnected: ${text}`,
					};
				},
			}),
	};
}

/* ------------------------------------------------------------------ WebTransport */

/**
 * A resolved `closed` that is really a lost session. The W3C API rejects `closed` when a session is
 * lost; @fails-components/webtransport (1.6.x, HTTP/2) resolves it instead, with the HTTP/2
 * RST_STREAM code as `closeCode` and an empty reason (a killed peer gives `{ closeCode: 8 }`,
 * NGHTTP2_CANCEL) or with the text of a Node error as `reason`. An application close either has
 * code 0 (`close()` with no arguments, or a FIN) or says why.
 */
function looksLost(info: WebTransportCloseInfoLike | undefined): boolean {
	const code = info?.closeCode;
	const reason = info?.reason ?? '';
	if (/^\w*Error \[ERR_/.test(reason)) return true;
	return reason === '' && typeof code === 'number' && code !== 0;
}

function webTransportAdapter(session: WebTransportSessionLike): SessionAdapter {
	return {
		kind: 'webtransport',
		pingable: undefined,
		follow(onEnd) {
			// A promise cannot be unsubscribed: after detach, only this small box stays reachable from it.
			const box: { onEnd: ((end: AdapterEnd) => void) | undefined } = { onEnd };
			const settle = (end: AdapterEnd): void => {
				const callback = box.onEnd;
				box.onEnd = undefined;
				callback?.(end);
			};
			session.closed.then(
				(value) => {
					const info = isObject(value) ? (value as WebTransportCloseInfoLike) : undefined;
					const code = typeof info?.closeCode === 'number' ? info.closeCode : undefined;
					const reason = typeof info?.reason === 'string' ? info.reason : undefined;
					const lost = looksLost(info);
					settle({
						clean: !lost,
						code,
						reason,
						detail: `WebTransport session ${lost ? 'lost' : 'closed'} (closeCode:${code ?? 'none'}${reason ? `, reason:${reason}` : ''})`,
					});
				},
				(error: unknown) => {
					const text = error instanceof Error ? error.message : String(error);
					settle({ clean: false, reason: text, cause: error, detail: `WebTransport session lost: ${text}` });
				},
			);
			return () => {
				box.onEnd = undefined;
			};
		},
	};
}

/* ------------------------------------------------------------------ AbortSignal */

/**
 * `abort()` is a clean end (the app says the user left). An abort whose reason is a `TimeoutError`
 * (`AbortSignal.timeout()`, or `abort(new DOMException('…', 'TimeoutError'))` from the app's own
 * heartbeat) is abrupt: the user may come back within the grace.
 */
function abortSignalAdapter(signal: AbortSignal): SessionAdapter {
	const endOf = (): AdapterEnd => {
		const reason: unknown = signal.reason;
		const name = isObject(reason) ? reason.name : undefined;
		const text = reason instanceof Error ? reason.message : reason === undefined ? undefined : String(reason);
		const timeout = name === 'TimeoutError';
		return {
			clean: !timeout,
			reason: text,
			cause: reason,
			detail: `AbortSignal aborted${timeout ? ' (timeout)' : ''}${text ? `: ${text}` : ''}`,
		};
	};
	return {
		kind: 'abort-signal',
		pingable: undefined,
		follow: (onEnd) =>
			followEnd(onEnd, signal.aborted ? endOf : undefined, {
				add: (listener) => signal.addEventListener('abort', listener, { once: true }),
				remove: (listener) => signal.removeEventListener('abort', listener),
				read: endOf,
			}),
	};
}
