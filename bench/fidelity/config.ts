// What bench/sections/fidelity.ts tells each worker's run (bench/fidelity/run-worker.ts, through
// FIDELITY_CONFIG) and how that run hands its result back.
import type { ClientName } from './results.js';

export interface FidelityConfig {
	readonly rounds: number;
	/** The healthy idle window, from the last client's start to the kills. */
	readonly idleMs: number;
	/** How long to wait after the kills for closes and ICE 'disconnected'. */
	readonly waitAfterVanishMs: number;
	/** Watched transports per kind per round, per client. */
	readonly watchedPerKind: Readonly<Record<ClientName, number>>;
	/** Not-watched transports per kind per round (consent-checking worker only). */
	readonly alonePerKind: number;
	/** A client's start (launch, signaling, connect, mute) that takes longer is a failure. */
	readonly startTimeoutMs: number;
}

/** The run's last stdout line: this prefix, then its WorkerRun as JSON. */
export const RESULT_PREFIX = '@@fidelity ';
