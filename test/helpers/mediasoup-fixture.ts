// The vitest fixture for integration tests: a fresh real worker and router per test (and, when
// asked, a WebRtcServer and a watchdog). Kept apart from mediasoup.ts so the demo and the
// benchmarks can use those helpers without loading vitest.
import { afterEach, beforeEach } from 'vitest';
import { createWatchdog, type Watchdog, type WatchdogPolicyOptions } from '../../src/index.js';
import {
	closeWorker,
	createTestRouter,
	createTestWebRtcServer,
	createTestWorker,
	type Router,
	type WebRtcServer,
	type Worker,
} from './mediasoup.js';

/** A worker and its router (and what else the file asked for), as integration tests hold them. */
export interface MediasoupFixture {
	worker: Worker;
	router: Router;
	/** Only with `useMediasoup({ webRtcServer: true })`. */
	webRtcServer: WebRtcServer;
	/** Only with `useMediasoup({ watchdog: policy })`. */
	watchdog: Watchdog;
}

export interface UseMediasoupOptions {
	/** Also a WebRtcServer on the worker (127.0.0.1, UDP and TCP, ports the worker picks), made after the router. */
	webRtcServer?: boolean;
	/**
	 * Also a watchdog with this policy (`{}`: the default policy), made last in `beforeEach` and
	 * stopped first in `afterEach`, before the clients close.
	 */
	watchdog?: WatchdogPolicyOptions;
	/**
	 * Run after each test, in order, before the worker is closed: the `closeAll…Clients()` of the
	 * client harnesses the file launches (test/helpers/chromium, test/helpers/werift). Passed in so
	 * that this module loads neither Chromium nor werift for tests that do not use them.
	 */
	closeClients?: ReadonlyArray<() => Promise<void>>;
}

/**
 * A fresh real worker and router for every test of the file: registers `beforeEach` (worker,
 * router, then the WebRtcServer and the watchdog if asked) and `afterEach` (watchdog `stop()`,
 * `closeClients`, then `closeWorker`, which waits for the process to exit). Call it at the top of
 * the file, before its own hooks: its `beforeEach` then runs first and its `afterEach` last (vitest
 * runs after-hooks in reverse order). Read the fixture's fields inside tests and hooks: outside a
 * test there are none.
 */
export function useMediasoup(options: UseMediasoupOptions = {}): Readonly<MediasoupFixture> {
	let fixture: Partial<MediasoupFixture> = {};
	beforeEach(async () => {
		const worker = await createTestWorker();
		fixture = { worker };
		fixture.router = await createTestRouter(worker);
		if (options.webRtcServer) fixture.webRtcServer = await createTestWebRtcServer(worker);
		if (options.watchdog) fixture.watchdog = createWatchdog(options.watchdog);
	});
	afterEach(async () => {
		const { worker, watchdog } = fixture;
		fixture = {};
		watchdog?.stop();
		for (const closeClients of options.closeClients ?? []) await closeClients();
		if (worker) await closeWorker(worker);
	});
	const get = <K extends keyof MediasoupFixture>(key: K, asked = true): MediasoupFixture[K] => {
		const value = fixture[key];
		if (value) return value;
		if (!asked) throw new Error(`no ${key}: pass \`${key}\` to useMediasoup() for one`);
		throw new Error(`no mediasoup ${key}: useMediasoup() gives one only inside a test or its hooks`);
	};
	return {
		get worker() {
			return get('worker');
		},
		get router() {
			return get('router');
		},
		get webRtcServer() {
			return get('webRtcServer', options.webRtcServer === true);
		},
		get watchdog() {
			return get('watchdog', options.watchdog !== undefined);
		},
	};
}
