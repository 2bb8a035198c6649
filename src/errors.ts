import type { IceRestartDenialReason } from './reasons.js';

/** Base class of every error this library throws on purpose (the Redis store's too). */
export class WatchdogError extends Error {
	override name = 'WatchdogError';
}

/**
 * `restartIce()` was refused. `reason` says why; `retryAfterMs` says when a new request can
 * succeed (only for `rate-limited`; `null` otherwise).
 */
export class IceRestartDeniedError extends WatchdogError {
	override name = 'IceRestartDeniedError' as const;
	readonly reason: IceRestartDenialReason;
	readonly retryAfterMs: number | null;
	readonly transportId: string;
	readonly userId: string | undefined;

	constructor(
		details: {
			reason: IceRestartDenialReason;
			retryAfterMs: number | null;
			transportId: string;
			userId: string | undefined;
		},
		options?: ErrorOptions,
	) {
		const retry = details.retryAfterMs === null ? '' : `, retryAfterMs:${details.retryAfterMs}`;
		super(`restartIce() denied [transportId:${details.transportId}, reason:${details.reason}${retry}]`, options);
		this.reason = details.reason;
		this.retryAfterMs = details.retryAfterMs;
		this.transportId = details.transportId;
		this.userId = details.userId;
	}
}

/** mediasoup's own `transport.restartIce()` failed after the restart was granted. */
export class IceRestartFailedError extends WatchdogError {
	override name = 'IceRestartFailedError' as const;
	readonly transportId: string;

	constructor(transportId: string, options?: ErrorOptions) {
		const cause = options?.cause instanceof Error ? `: ${options.cause.message}` : '';
		super(`restartIce() failed in mediasoup [transportId:${transportId}]${cause}`, options);
		this.transportId = transportId;
	}
}

/** The `name` of every error class of this library, `mediasoup-watchdog/redis`'s included. */
const ERROR_NAMES: ReadonlySet<string> = new Set([
	'WatchdogError',
	'IceRestartDeniedError',
	'IceRestartFailedError',
	'RedisStoreError',
]);

/**
 * The one cross-realm guard: `instanceof`, or the class's `name` when the error comes from another
 * copy of this package (its ESM and CJS builds both loaded, or two installs).
 */
export function isErrorOf<T extends Error>(
	error: unknown,
	Class: abstract new (...args: never[]) => T,
	name: string,
): error is T {
	return error instanceof Class || (typeof error === 'object' && error !== null && (error as { name?: unknown }).name === name);
}

/** True for any error of this library (also across ESM/CJS copies, matched by `name`). */
export function isWatchdogError(error: unknown): error is WatchdogError {
	return (
		error instanceof WatchdogError ||
		(typeof error === 'object' && error !== null && ERROR_NAMES.has((error as { name?: unknown }).name as string))
	);
}

export function isIceRestartDeniedError(error: unknown): error is IceRestartDeniedError {
	return isErrorOf(error, IceRestartDeniedError, 'IceRestartDeniedError');
}

export function isIceRestartFailedError(error: unknown): error is IceRestartFailedError {
	return isErrorOf(error, IceRestartFailedError, 'IceRestartFailedError');
}
