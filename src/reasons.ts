// Why a watch ends and why a restart is refused: the lists the public types derive from (one
// source for the types, the docs' tables and the adapters' label values).

/** Every reason a watch can end with, in the order of docs/closures.md. */
export const CLOSE_REASONS = [
	'connect-timeout',
	'dtls-closed',
	'dtls-failed',
	'ice-disconnected',
	'inactive',
	'restart-timeout',
	'pending-limit',
	'signaling-closed',
	'signaling-lost',
	'superseded',
	'client-left',
	'app',
	'transport-closed',
	'router-closed',
	'listen-server-closed',
	'worker-died',
	'stopped',
] as const;

/** Why a watch ended. See docs/closures.md for the mediasoup events behind each. */
export type CloseReason = (typeof CLOSE_REASONS)[number];

/** Every reason `restartIce()` can be refused with. */
export const ICE_RESTART_DENIAL_REASONS = ['never-connected', 'rate-limited', 'storm', 'closed', 'store-unavailable'] as const;

/** Why `restartIce()` was refused. */
export type IceRestartDenialReason = (typeof ICE_RESTART_DENIAL_REASONS)[number];

/**
 * Whether each reason is an intentional end. The reasons the watchdog only records
 * (`transport-closed`, `router-closed`, `listen-server-closed`) were the app's own doing;
 * a worker death is not. See docs/closures.md. A `Record` over the list: the compiler refuses a
 * reason added to the list without its flag here, and a flag for a reason not in the list.
 */
export const CLEAN_REASONS: Readonly<Record<CloseReason, boolean>> = Object.freeze({
	'connect-timeout': false,
	'dtls-closed': true,
	'dtls-failed': false,
	'ice-disconnected': false,
	inactive: false,
	'restart-timeout': false,
	'pending-limit': false,
	'signaling-closed': true,
	'signaling-lost': false,
	superseded: true,
	'client-left': true,
	app: true,
	'transport-closed': true,
	'router-closed': true,
	'listen-server-closed': true,
	'worker-died': false,
	stopped: true,
});
