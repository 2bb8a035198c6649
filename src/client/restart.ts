// Restarts done right on a mediasoup-client Transport: ask the server (through the app), apply the
// answer, honour denials, back off, give up. Browser-safe: no Node built-ins, no dependency.

/** The part of a mediasoup-client `Transport` the companion uses (3.x, every handler). */
export interface RestartableTransport {
	readonly id: string;
	readonly closed: boolean;
	readonly connectionState: string;
	on(event: 'connectionstatechange', listener: (state: string) => void): unknown;
	off(event: 'connectionstatechange', listener: (state: string) => void): unknown;
	restartIce(options: { iceParameters: unknown }): Promise<void>;
}

/** What the app's `requestRestart` resolves with: the server's answer to its `restartIce()`. */
export type RestartAnswer =
	| { readonly granted: true; readonly iceParameters: unknown }
	| { readonly granted: false; readonly reason: string; readonly retryAfterMs?: number | undefined };

export interface RestartOptions {
	/** Asks the server for a restart of this transport (the app's signaling). A rejection is retried with backoff. */
	requestRestart: (transport: RestartableTransport) => Promise<RestartAnswer>;
	/** How long `'disconnected'` may last before a restart is asked for (default 2 000 ms). */
	disconnectedGraceMs?: number;
	/** First backoff delay, doubled on each failed attempt (default 1 000 ms). */
	backoffMs?: number;
	/** Backoff ceiling (default 30 000 ms). */
	maxBackoffMs?: number;
	/** Failed attempts before `giveup` (default 5). Waits a server asked for do not count. */
	maxAttempts?: number;
	/** Random delay added to every wait, up to this (default 250 ms). */
	jitterMs?: number;
	/** Returns [0, 1); tests pass a fixed one (default Math.random). */
	random?: () => number;
}

/** The companion's events. */
export interface RestartEvents {
	/** A restart is being asked for (attempt counts failed attempts since the last connection). */
	request: { attempt: number };
	/** The server granted and `transport.restartIce()` applied its parameters. */
	restarted: { attempt: number };
	/** The server refused; `action` is what the companion does about it (see docs/client.md). */
	denied: { reason: string; retryAfterMs: number | undefined; action: DenialAction; delayMs: number };
	/** The transport cannot be restarted: the app should rejoin (new transports). */
	rejoin: { reason: string };
	/** `maxAttempts` failed attempts in a row: the companion stopped trying. */
	giveup: { attempts: number; lastError: unknown };
}

export type RestartEventName = keyof RestartEvents;
export type DenialAction = 'rejoin' | 'wait' | 'backoff';

/** What the companion does on each denial reason the server knows (src/reasons.ts). */
export const DENIAL_ACTIONS: Readonly<Record<string, DenialAction>> = Object.freeze({
	'never-connected': 'rejoin',
	closed: 'rejoin',
	'rate-limited': 'wait',
	storm: 'wait',
	'store-unavailable': 'backoff',
});

/** A denial's action: the table, else `wait` when the server gave a `retryAfterMs`, else `backoff`. */
export function denialAction(reason: string, retryAfterMs?: number): DenialAction {
	const known = Object.hasOwn(DENIAL_ACTIONS, reason) ? DENIAL_ACTIONS[reason] : undefined;
	if (known === 'wait' && retryAfterMs === undefined) return 'backoff';
	return known ?? (retryAfterMs !== undefined ? 'wait' : 'backoff');
}

export interface RestartCompanion {
	on<E extends RestartEventName>(event: E, listener: (payload: RestartEvents[E]) => void): void;
	off<E extends RestartEventName>(event: E, listener: (payload: RestartEvents[E]) => void): void;
	/** Failed attempts since the last connection. */
	readonly attempts: number;
	/** Stops listening and cancels every timer. */
	dispose(): void;
}

function positive(name: string, value: number | undefined, fallback: number): number {
	if (value === undefined) return fallback;
	if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
		throw new TypeError(`watchRestarts() ${name} must be a finite number >= 0, got ${String(value)}`);
	}
	return value;
}

/** Watches `transport` and restarts its ICE through `options.requestRestart`. One restart at a time. */
export function watchRestarts(transport: RestartableTransport, options: RestartOptions): RestartCompanion {
	if (typeof options?.requestRestart !== 'function') {
		throw new TypeError(`watchRestarts() requestRestart must be a function, got ${typeof options?.requestRestart}`);
	}
	const graceMs = positive('disconnectedGraceMs', options.disconnectedGraceMs, 2000);
	const backoffMs = positive('backoffMs', options.backoffMs, 1000);
	const maxBackoffMs = positive('maxBackoffMs', options.maxBackoffMs, 30000);
	const maxAttempts = positive('maxAttempts', options.maxAttempts, 5);
	const jitterMs = positive('jitterMs', options.jitterMs, 250);
	const random = options.random ?? Math.random;
	const listeners = new Map<RestartEventName, Set<(payload: never) => void>>();
	let timer: ReturnType<typeof setTimeout> | undefined;
	let graceTimer = false;
	let inFlight = false;
	let attempts = 0;
	let done = false;

	const emit = <E extends RestartEventName>(event: E, payload: RestartEvents[E]): void => {
		for (const listener of [...(listeners.get(event) ?? [])]) (listener as (p: RestartEvents[E]) => void)(payload);
	};
	const clear = (): void => {
		if (timer !== undefined) clearTimeout(timer);
		timer = undefined;
		graceTimer = false;
	};
	const connected = (): boolean => transport.connectionState === 'connected' || transport.connectionState === 'completed';
	const schedule = (delayMs: number, grace = false): void => {
		clear();
		graceTimer = grace;
		timer = setTimeout(() => {
			timer = undefined;
			graceTimer = false;
			if (!done && !connected()) void attempt();
		}, delayMs);
	};
	const fail = (error: unknown): void => {
		attempts += 1;
		if (attempts >= maxAttempts) {
			emit('giveup', { attempts, lastError: error });
			dispose();
			return;
		}
		schedule(Math.min(maxBackoffMs, backoffMs * 2 ** (attempts - 1)) + random() * jitterMs);
	};
	const attempt = async (): Promise<void> => {
		if (inFlight || done || transport.closed) return;
		inFlight = true;
		clear();
		emit('request', { attempt: attempts });
		try {
			const answer = await options.requestRestart(transport);
			if (done || transport.closed) return;
			if (answer.granted) {
				await transport.restartIce({ iceParameters: answer.iceParameters });
				emit('restarted', { attempt: attempts });
				// No connection within the backoff: ask again.
				fail(new Error('ICE did not reconnect after a granted restart'));
				return;
			}
			const retryAfterMs = answer.retryAfterMs;
			const action = denialAction(answer.reason, retryAfterMs);
			if (action === 'rejoin') {
				emit('denied', { reason: answer.reason, retryAfterMs, action, delayMs: 0 });
				emit('rejoin', { reason: answer.reason });
				dispose();
			} else if (action === 'wait') {
				const delayMs = (retryAfterMs ?? 0) + random() * jitterMs;
				emit('denied', { reason: answer.reason, retryAfterMs, action, delayMs });
				schedule(delayMs);
			} else {
				emit('denied', { reason: answer.reason, retryAfterMs, action, delayMs: 0 });
				fail(new Error(`restart denied: ${answer.reason}`));
			}
		} catch (error) {
			if (!done) fail(error);
		} finally {
			inFlight = false;
		}
	};
	const onState = (state: string): void => {
		if (state === 'connected' || state === 'completed') {
			attempts = 0;
			clear();
		} else if (state === 'disconnected') {
			if (timer === undefined && !inFlight) schedule(graceMs, true);
		} else if (state === 'failed') {
			// 'failed' cuts a grace short; a wait the server asked for or a backoff is kept.
			if (graceTimer) clear();
			if (timer === undefined) void attempt();
		} else if (state === 'closed') dispose();
	};
	function dispose(): void {
		if (done) return;
		done = true;
		clear();
		transport.off('connectionstatechange', onState);
		listeners.clear();
	}
	transport.on('connectionstatechange', onState);

	return {
		on(event, listener) {
			const set = listeners.get(event) ?? new Set();
			listeners.set(event, set);
			set.add(listener as (payload: never) => void);
		},
		off(event, listener) {
			listeners.get(event)?.delete(listener as (payload: never) => void);
		},
		get attempts() {
			return attempts;
		},
		dispose,
	};
}
