import type { IceRestartDenialReason } from './types.js';

/** Base class of every error this library throws on purpose. */
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

/** A method that needs an active watch was called after it closed or stopped. */
export class WatchClosedError extends WatchdogError {
	override name = 'WatchClosedError' as const;
}

function hasName(error: unknown, name: string): boolean {
	return typeof error === 'object' && error !== null && (error as { name?: unknown }).name === name;
}

/** True for any error of this library (also across ESM/CJS copies, matched by `name`). */
export function isWatchdogError(error: unknown): error is WatchdogError {
	return (
		error instanceof WatchdogError ||
		hasName(error, 'WatchdogError') ||
		isIceRestartDeniedError(error) ||
		isIceRestartFailedError(error) ||
		isWatchClosedError(error)
	);
}

export function isIceRestartDeniedError(error: unknown): error is IceRestartDeniedError {
	return error instanceof IceRestartDeniedError || hasName(error, 'IceRestartDeniedError');
}

export function isIceRestartFailedError(error: unknown): error is IceRestartFailedError {
	return error instanceof IceRestartFailedError || hasName(error, 'IceRestartFailedError');
}

export function isWatchClosedError(error: unknown): error is WatchClosedError {
	return error instanceof WatchClosedError || hasName(error, 'WatchClosedError');
}
