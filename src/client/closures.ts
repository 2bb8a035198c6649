// What a client does when the server says a transport closed (`transportClosed { reason, clean }`).

import type { CloseReason } from '../reasons.js';

/** `reconnect`: new transports on the same session; `rejoin`: the session is gone, join again; `give-up`: an intended end. */
export type ClosedAction = 'reconnect' | 'rejoin' | 'give-up';

/** One action per close reason of docs/closures.md (the compiler refuses a reason without one). */
export const CLOSE_ACTIONS: Readonly<Record<CloseReason, ClosedAction>> = Object.freeze({
	'connect-timeout': 'reconnect',
	'dtls-closed': 'give-up',
	'dtls-failed': 'reconnect',
	'ice-disconnected': 'reconnect',
	inactive: 'reconnect',
	'restart-timeout': 'reconnect',
	'pending-limit': 'give-up',
	'signaling-closed': 'give-up',
	'signaling-lost': 'rejoin',
	superseded: 'give-up',
	'client-left': 'give-up',
	app: 'give-up',
	'transport-closed': 'give-up',
	'router-closed': 'rejoin',
	'listen-server-closed': 'reconnect',
	'worker-died': 'rejoin',
	stopped: 'give-up',
});

/** The action for a `transportClosed` message; a reason this table does not know: `give-up` if clean, else `rejoin`. */
export function actionForClose(closed: { reason: string; clean?: boolean }): ClosedAction {
	if (Object.hasOwn(CLOSE_ACTIONS, closed.reason)) return CLOSE_ACTIONS[closed.reason as CloseReason];
	return closed.clean === true ? 'give-up' : 'rejoin';
}
