// What a scenario gets to work with: the real worker and router, the watchdog, real clients, the
// timeline, the progress line and the machine's measured lateness.
//
// Real clients take seconds to start on a busy machine, and that is the harness's cost, not the
// library's: a client's transports are created only once it is ready to connect (browser
// launched, page and Device loaded, camera acquired), a scenario's time budget starts then, and
// only a few clients start at once (`starts`), so that no launch takes the CPU from another
// client's first connection or ICE restart. A client that fails to start is retried once and then
// reported as a harness failure, never as a verdict.
import type { CloseInfo, TransportWatch, Watchdog, WatchdogPolicy } from '../../src/index.js';
import {
	type ChromiumClient,
	type ChromiumClientOptions,
	ChromiumStartError,
	type Direction,
	launchChromiumClient,
} from '../../test/helpers/chromium/harness.js';
import type { LoadProbe } from '../../test/helpers/load-probe.js';
import { createTestTransport, type Router, type WebRtcTransport, type Worker } from '../../test/helpers/mediasoup.js';
import { startWeriftClient, type WeriftClient, WeriftStartError } from '../../test/helpers/werift/harness.js';
import type { ScenarioInfo, Verdict } from './catalog.js';
import type { Progress } from './progress.js';
import type { Timeline } from './timeline.js';

/** A transport under watch, with the times the demo needs for latencies. */
export interface Watched {
	readonly transport: WebRtcTransport;
	readonly watch: TransportWatch<WebRtcTransport>;
	/** `performance.now()` when the watch started. */
	readonly watchedAt: number;
	/** Settles with the close and the `performance.now()` it was seen at (never for a stop). */
	readonly closed: Promise<WatchClose>;
}

export interface WatchClose {
	readonly info: CloseInfo;
	readonly at: number;
}

/** A timing the scenario holds the library to: `measuredMs ≤ boundMs + allowanceMs`. */
export interface TimingCheck {
	/** What was measured, e.g. `latency` or `CloseInfo.detectionMs`. */
	readonly what: string;
	readonly measuredMs: number;
	/** What the policy promises (a deadline, or a transport's detection bound). */
	readonly boundMs: number;
	/** What this machine added meanwhile, measured (see test/helpers/load-probe.ts): late timers plus the worker's slowest answer. */
	readonly allowanceMs: number;
}

/** How a scenario ended. */
export interface ScenarioOutcome {
	readonly observed: Verdict;
	/** From the cause (the client's act, the transport's creation, the restart) to the verdict. */
	readonly latencyMs: number | null;
	/** What the policy promises for that latency (a deadline or a detection bound). */
	readonly boundMs: number | null;
	/** The watchdog's own `CloseInfo.detectionMs`: from the last sign of life it saw to its decision. */
	readonly detectionMs?: number | null;
	/** `CloseInfo.clean` of a close. */
	readonly clean?: boolean;
	/** The bound the verdict is held to, when it has one. */
	readonly timing?: TimingCheck;
	readonly note?: string;
}

export interface ScenarioContext {
	readonly info: ScenarioInfo;
	/** The user every transport of this scenario belongs to (its `appData.userId`). */
	readonly userId: string;
	readonly worker: Worker;
	readonly router: Router;
	readonly watchdog: Watchdog;
	readonly policy: WatchdogPolicy;
	/** Shows what the scenario is doing now on the progress line. */
	status(text: string): void;
	/** Something the "user" does: recorded on the timeline and the progress line; returns `performance.now()`. */
	act(text: string): number;
	/** Milliseconds this machine added to timings between `from` and `to` (late timers + slowest worker answer). */
	allowance(from: number, to?: number): number;
	/**
	 * Chromium + mediasoup-client; every server transport is watched before its parameters reach
	 * the page. Unless `connect: false`, resolves once the transports are DTLS-connected; if the
	 * watchdog closes one first, rejects with {@link ClosedEarly}.
	 */
	launchChromium(options?: ChromiumClientOptions): Promise<{ client: ChromiumClient; watched: Map<Direction, Watched> }>;
	/** A connected werift peer in its own process on a watched data-only transport (own port, SCTP). */
	startWerift(): Promise<{ client: WeriftClient; watched: Watched }>;
	/** Runs `step` while no client starts and no other timing-critical step runs. */
	exclusive<T>(what: string, step: () => Promise<T>): Promise<T>;
	/** Runs `cleanup` when the scenario ends, last registered first. */
	defer(cleanup: () => void | Promise<void>): void;
}

export type Scenario = (context: ScenarioContext) => Promise<ScenarioOutcome>;

/** A client that did not start, twice: the harness failed, so there is no verdict. */
export class HarnessError extends Error {
	override readonly name = 'HarnessError';
}

/** The watchdog closed a transport of the scenario before its client had connected. */
export class ClosedEarly extends Error {
	override readonly name = 'ClosedEarly';
	readonly closed: WatchClose;

	constructor(closed: WatchClose) {
		super(`the watchdog closed the transport (${closed.info.reason}) before the client connected`);
		this.closed = closed;
	}
}

/** At most `size` holders at once; the rest wait in order. */
export class Pool {
	#free: number;
	readonly #waiting: Array<() => void> = [];

	constructor(size: number) {
		this.#free = size;
	}

	async acquire(): Promise<() => void> {
		if (this.#free > 0) this.#free -= 1;
		else await new Promise<void>((resolve) => this.#waiting.push(resolve));
		let released = false;
		return () => {
			if (released) return;
			released = true;
			const next = this.#waiting.shift();
			if (next) next();
			else this.#free += 1;
		};
	}
}

export interface ContextDeps {
	readonly worker: Worker;
	readonly router: Router;
	readonly watchdog: Watchdog;
	readonly timeline: Timeline;
	readonly progress: Progress;
	readonly load: LoadProbe;
	/** Chromium clients running at once. */
	readonly browsers: Pool;
	/** Clients starting (or in another timing-critical step) at once. */
	readonly starts: Pool;
}

/** How long a started client may take to connect; the connect deadline usually decides first. */
const CONNECT_WAIT_MS = 30_000;

/**
 * A scenario's context, the promise that settles once its first client is ready (its time
 * budget starts then) and the function that tears down what it created.
 */
export function createContext(
	info: ScenarioInfo,
	deps: ContextDeps,
): { context: ScenarioContext; ready: Promise<void>; teardown(): Promise<void> } {
	const cleanups: Array<() => void | Promise<void>> = [];
	const watchedList: Watched[] = [];
	const userId = `user-${info.name}`;
	let markReady!: () => void;
	const ready = new Promise<void>((resolve) => {
		markReady = resolve;
	});

	const watch = (transport: WebRtcTransport, label: string): Watched => {
		const handle = deps.watchdog.watch(transport, { worker: deps.worker });
		deps.timeline.follow(info.name, label, handle as unknown as TransportWatch, transport.observer);
		const watched: Watched = {
			transport,
			watch: handle,
			watchedAt: performance.now(),
			closed: new Promise((resolve) => {
				handle.once('close', (closeInfo) => resolve({ info: closeInfo, at: performance.now() }));
			}),
		};
		watchedList.push(watched);
		return watched;
	};

	/** A client's start, retried once if the harness failed to start it. */
	const startClient = async <T>(client: string, start: () => Promise<T>): Promise<T> => {
		const isStartError = (error: unknown): error is Error =>
			error instanceof ChromiumStartError || error instanceof WeriftStartError;
		try {
			return await start();
		} catch (error) {
			if (!isStartError(error)) throw error;
			context.act(`${client} did not start (${firstLine(error)}); once more`);
			try {
				return await start();
			} catch (again) {
				if (!isStartError(again)) throw again;
				throw new HarnessError(`${client} did not start, twice: ${again.message}`, { cause: again });
			}
		}
	};

	/** `connecting` resolves; or the first close of `watched` comes first (ClosedEarly). */
	const connected = async (connecting: Promise<unknown>, watched: readonly Watched[]): Promise<void> => {
		connecting.catch(() => {}); // a close may win the race
		const first = await Promise.race([connecting.then(() => undefined), ...watched.map((w) => w.closed)]);
		if (first) throw new ClosedEarly(first);
	};

	/** A watch of `watched` that closed already (the page's error then only follows from it). */
	const closedAlready = async (watched: Iterable<Watched>): Promise<WatchClose | undefined> => {
		for (const w of watched) if (w.watch.closeReason !== undefined) return w.closed;
		return undefined;
	};

	const context: ScenarioContext = {
		info,
		userId,
		worker: deps.worker,
		router: deps.router,
		watchdog: deps.watchdog,
		policy: deps.watchdog.policy,
		status: (text) => deps.progress.status(info.name, text),
		act(text) {
			deps.timeline.mark(info.name, text);
			deps.progress.status(info.name, text);
			return performance.now();
		},
		allowance(from, to) {
			const late = deps.load.between(from, to);
			return late.timerMs + late.workerMs;
		},
		async exclusive(what, step) {
			context.status(`waiting for its turn: ${what}`);
			const release = await deps.starts.acquire();
			try {
				context.status(what);
				return await step();
			} finally {
				release();
			}
		},
		async launchChromium(options = {}) {
			context.status('waiting for a browser slot');
			cleanups.push(await deps.browsers.acquire());
			const watched = new Map<Direction, Watched>();
			const client = await context.exclusive('starting Chromium', async () => {
				let launched: ChromiumClient;
				try {
					launched = await startClient('Chromium', () =>
						launchChromiumClient(deps.router, {
							...options,
							appData: { ...options.appData, userId },
							onReady: ({ ready: readyMs }) => {
								context.act(`Chromium ready to connect (started in ${Math.round(readyMs)} ms)`);
								markReady();
							},
							onTransport: (transport, direction) => {
								watched.set(direction, watch(transport, `chromium ${direction}`));
							},
						}),
					);
				} catch (error) {
					const closed = await closedAlready(watched.values());
					throw closed ? new ClosedEarly(closed) : error;
				}
				cleanups.push(() => launched.close());
				if (options.connect !== false) {
					await connected(launched.waitForConnected({ timeoutMs: CONNECT_WAIT_MS }), [...watched.values()]);
				}
				return launched;
			});
			context.act(options.connect === false ? 'transports handed to the page' : 'Chromium connected');
			return { client, watched };
		},
		async startWerift() {
			return context.exclusive('starting werift', async () => {
				const client = await startClient('werift', async () => {
					const transport = await createTestTransport(deps.router, { enableSctp: true, appData: { userId } });
					try {
						return await startWeriftClient({ transport });
					} catch (error) {
						if (!transport.closed) transport.close();
						throw error;
					}
				});
				const { transport } = client;
				cleanups.push(() => {
					if (!transport.closed) transport.close();
				});
				cleanups.push(() => client.close());
				// Watched once the peer has the parameters: spawning the child (tsx + werift) takes
				// seconds under load, a cost of the harness that a real client never makes the server pay.
				context.act(`werift peer ready to connect (started in ${Math.round(client.timings.totalMs)} ms)`);
				markReady();
				const watched = watch(transport, 'werift data');
				await connected(client.waitForConnected(CONNECT_WAIT_MS), [watched]);
				context.act('werift connected');
				return { client, watched };
			});
		},
		defer(cleanup) {
			cleanups.push(cleanup);
		},
	};

	const teardown = async (): Promise<void> => {
		// What the scenario left open ends as an app would end it: watch.close().
		for (const { watch: handle } of watchedList) handle.close('the demo scenario ended');
		const errors: unknown[] = [];
		for (const cleanup of cleanups.reverse()) {
			try {
				await cleanup();
			} catch (error) {
				errors.push(error);
			}
		}
		if (errors.length > 0) throw new AggregateError(errors, `tearing down scenario ${info.name} failed`);
	};
	return { context, ready, teardown };
}

export function firstLine(error: unknown): string {
	const text = error instanceof Error ? error.message : String(error);
	return text.split('\n')[0] ?? text;
}
