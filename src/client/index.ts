// mediasoup-watchdog/client: the browser companion (no Node built-ins, no dependency). docs/client.md.

export type { ClosedAction } from './closures.js';
export { actionForClose, CLOSE_ACTIONS } from './closures.js';
export type { Closable, DepartureOptions, DepartureTarget } from './departure.js';
export { declareDeparture } from './departure.js';
export type {
	DenialAction,
	RestartAnswer,
	RestartableTransport,
	RestartCompanion,
	RestartEventName,
	RestartEvents,
	RestartOptions,
} from './restart.js';
export { DENIAL_ACTIONS, denialAction, watchRestarts } from './restart.js';
