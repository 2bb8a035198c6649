// Probes for the reliability tests: what a watch (or a whole watchdog) may have left behind.
//
//   listenerTotal(transport)      listeners on a transport and its observer (mediasoup's own `@` events left out)
//   observerListenerTotal(wd)     listeners on a watchdog's observer
//   activeTimeouts()              Node `Timeout` handles alive in this process (a cross-check of real timers)
//   forceGc() / heapAfterGc()     a full, repeated GC without `--expose-gc` on the command line
//   watchProcessProblems()        unhandled rejections / uncaught exceptions seen during a block
//   useProcessProblems()          the same for every test of a file
//
// The manual clocks are in manual-clock.ts (SyncManualClock: timers fire only on a synchronous advance()).
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, beforeEach } from 'vitest';
import { listenersOn } from './watch-probes.js';

export { countingClock, listenersOn } from './watch-probes.js';

/** Listeners on a transport and on its observer, mediasoup-internal `@` events left out. */
export function listenerTotal(transport: { observer: unknown }): number {
	let total = 0;
	for (const count of Object.values(listenersOn(transport))) total += count;
	return total;
}

/** Listeners on a watchdog's observer (or any of our SafeEmitters). */
export function observerListenerTotal(watchdog: { observer: { listenerCount(): number } }): number {
	return watchdog.observer.listenerCount();
}

/** Node `Timeout` handles alive in this process (ref'd or not), from `process.getActiveResourcesInfo()`. */
export function activeTimeouts(): number {
	return process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;
}

let gcFunction: (() => void) | undefined;

/** A full GC. Works without `--expose-gc` on the command line (the flag is set at run time). */
export function forceGc(): void {
	if (!gcFunction) {
		const exposed = (globalThis as { gc?: () => void }).gc;
		if (exposed) gcFunction = exposed;
		else {
			setFlagsFromString('--expose-gc');
			gcFunction = runInNewContext('gc') as () => void;
		}
	}
	gcFunction();
}

/** Lets pending promise jobs and immediates run, then collects garbage several times; returns `heapUsed`. */
export async function heapAfterGc(rounds = 4): Promise<number> {
	for (let i = 0; i < rounds; i++) {
		await new Promise((resolve) => setImmediate(resolve));
		forceGc();
	}
	return process.memoryUsage().heapUsed;
}

/** Waits until every already-queued promise job and one macrotask turn have run. */
export async function flushJobs(turns = 2): Promise<void> {
	for (let i = 0; i < turns; i++) await new Promise((resolve) => setImmediate(resolve));
}

export interface ProcessProblems {
	/** Unhandled rejections and uncaught exceptions seen since `watchProcessProblems()`. */
	readonly seen: unknown[];
	/** Stops listening. */
	dispose(): void;
}

/**
 * Records unhandled rejections and uncaught exceptions while a block runs, so a test can assert
 * there were none at its own end (test/helpers/fail-on-unhandled.ts also fails the whole file).
 */
export function watchProcessProblems(): ProcessProblems {
	const seen: unknown[] = [];
	const onProblem = (error: unknown): void => {
		seen.push(error);
	};
	process.on('unhandledRejection', onProblem);
	process.on('uncaughtException', onProblem);
	return {
		seen,
		dispose() {
			process.off('unhandledRejection', onProblem);
			process.off('uncaughtException', onProblem);
		},
	};
}

/**
 * `watchProcessProblems()` around every test of the file: on in `beforeEach`, disposed in
 * `afterEach`. Call it before `useMediasoup()` so it also covers the worker's start and close.
 */
export function useProcessProblems(): Pick<ProcessProblems, 'seen'> {
	let problems: ProcessProblems | undefined;
	beforeEach(() => {
		problems = watchProcessProblems();
	});
	afterEach(() => {
		problems?.dispose();
		problems = undefined;
	});
	return {
		get seen() {
			if (!problems) throw new Error('useProcessProblems() watches only inside a test or its hooks');
			return problems.seen;
		},
	};
}

/** `after` minus `before`, per event, leaving out zeros (listener maps from `listenersOn`). */
export function listenerDiff(after: Record<string, number>, before: Record<string, number>): Record<string, number> {
	const diff: Record<string, number> = {};
	for (const key of new Set([...Object.keys(after), ...Object.keys(before)])) {
		const delta = (after[key] ?? 0) - (before[key] ?? 0);
		if (delta !== 0) diff[key] = delta;
	}
	return diff;
}

/** Resolves with `promise`, or rejects after `ms` saying what did not happen. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
	let timer: ReturnType<typeof setTimeout> | undefined;
	const timeout = new Promise<never>((_, reject) => {
		timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
	});
	return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
