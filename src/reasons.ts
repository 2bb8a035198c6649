import type { CloseReason } from '../types.js';

/**
 * Whether each reason is an intentional end. The reasons the watchdog only records
 * (`transport-closed`, `router-closed`, `listen-server-closed`) were the app's own doing;
 * a worker death is not. See docs/closures.md.
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
	app: true,
	'transport-closed': true,
	'router-closed': true,
	'listen-server-closed': true,
	'worker-died': false,
	stopped: true,
});
