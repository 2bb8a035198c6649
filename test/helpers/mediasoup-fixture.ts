// The vitest fixture for integration tests: a fresh real worker and router per test. Kept apart
// from mediasoup.ts so the demo and the benchmarks can use those helpers without loading vitest.
import { afterEach, beforeEach } from 'vitest';
import { closeWorker, createTestRouter, createTestWorker, type Router, type Worker } from './mediasoup.js';

/** A worker and its router, as integration tests hold them. */
export interface MediasoupFixture {
	worker: Worker;
	router: Router;
}

export interface UseMediasoupOptions {
	/**
	 * Run after each test, in order, before the worker is closed: the `closeAll…Clients()` of the
	 * client harnesses the file launches (test/helpers/chromium, test/helpers/werift). Passed in so
	 * that this module loads neither Chromium nor werift for tests that do not use them.
	 */
	closeClients?: ReadonlyArray<() => Promise<void>>;
}

/**
 * A fresh real worker and router for every test of the file: registers `beforeEach` (worker, then
 * router) and `afterEach` (`closeClients`, then `closeWorker`, which waits for the process to exit).
 * Call it at the top of the file, before its own hooks: its `beforeEach` then runs first and its
 * `afterEach` last (vitest runs after-hooks in reverse order). Read `worker` and `router` inside
 * tests and hooks: outside a test there is none.
 */
export function useMediasoup(options: UseMediasoupOptions = {}): Readonly<MediasoupFixture> {
	let worker: Worker | undefined;
	let router: Router | undefined;
	beforeEach(async () => {
		worker = await createTestWorker();
		router = await createTestRouter(worker);
	});
	afterEach(async () => {
		const closing = worker;
		worker = undefined;
		router = undefined;
		for (const closeClients of options.closeClients ?? []) await closeClients();
		if (closing) await closeWorker(closing);
	});
	const missing = (): never => {
		throw new Error('no mediasoup worker: useMediasoup() gives one only inside a test or its hooks');
	};
	return {
		get worker() {
			return worker ?? missing();
		},
		get router() {
			return router ?? missing();
		},
	};
}
