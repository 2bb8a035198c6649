// What a scenario gets to work with: the real worker and router, the watchdog, real clients
// (launched through a pool so only a few browsers run at once), the timeline and the progress line.
import type { CloseInfo, TransportWatch, Watchdog, WatchdogPolicy } from '../../src/index.js';
import {
	type ChromiumClient,
	type ChromiumClientOptions,
	type Direction,
	launchChromiumClient,
} from '../../test/helpers/chromium/harness.js';
import { createTestTransport, type Router, type WebRtcTransport, type Worker } from '../../test/helpers/mediasoup.js';
import { startWeriftClient, type WeriftClient } from '../../test/helpers/werift/harness.js';
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
	readonly closed: Promise<{ info: CloseInfo; at: number }>;
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
	/** Chromium + mediasoup-client; every server transport is watched before its parameters reach the page. */
	launchChromium(options?: ChromiumClientOptions): Promise<{ client: ChromiumClient; watched: Map<Direction, Watched> }>;
	/** A werift peer in its own process on a watched data-only transport (own port, SCTP). */
	startWerift(): Promise<{ client: WeriftClient; watched: Watched }>;
	/** Runs `cleanup` when the scenario ends, last registered first. */
	defer(cleanup: () => void | Promise<void>): void;
}

export type Scenario = (context: ScenarioContext) => Promise<ScenarioOutcome>;

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
	readonly browsers: Pool;
}

/** A scenario's context and the function that tears down what it created. */
export function createContext(info: ScenarioInfo, deps: ContextDeps): { context: ScenarioContext; teardown(): Promise<void> } {
	const cleanups: Array<() => void | Promise<void>> = [];
	const watchedList: Watched[] = [];
	const userId = `user-${info.name}`;

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
		async launchChromium(options = {}) {
			context.status('waiting for a browser slot');
			const release = await deps.browsers.acquire();
			cleanups.push(release);
			context.status('launching Chromium');
			const watched = new Map<Direction, Watched>();
			const client = await launchChromiumClient(deps.router, {
				...options,
				appData: { ...options.appData, userId },
				onTransport: (transport, direction) => {
					watched.set(direction, watch(transport, `chromium ${direction}`));
				},
			});
			cleanups.push(() => client.close());
			context.act(`Chromium launched (${Math.round(client.timings.total)} ms)`);
			return { client, watched };
		},
		async startWerift() {
			context.status('starting werift');
			const transport = await createTestTransport(deps.router, { enableSctp: true, appData: { userId } });
			cleanups.push(() => {
				if (!transport.closed) transport.close();
			});
			const client = await startWeriftClient({ transport });
			cleanups.push(() => client.close());
			// Watched once the peer has the parameters: spawning the child (tsx + werift) takes
			// seconds under load, a cost of the harness that a real client never makes the server pay.
			const watched = watch(transport, 'werift data');
			context.act(`werift peer started (${Math.round(client.timings.totalMs)} ms)`);
			return { client, watched };
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
	return { context, teardown };
}
