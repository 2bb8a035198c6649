// Faults around the REAL mediasoup 3.12 worker: SIGKILL while transports wait for their first
// connect, while a granted ICE restart runs, while a liveness poll is in flight and while
// mediasoup's own restartIce() request is; the router closed during restartIce(). Each watch ends
// once with the reason that fits, `closed` settles, no timer and no listener of the watchdog is
// left, and no unhandled rejection or uncaught exception reaches the process.
import { describe, expect, it } from 'vitest';
import { isIceRestartDeniedError, type TransportWatch, type WatchdogPolicyOptions, type WatchOptions } from '../../src/index.js';
import { createWatchdog } from '../../src/watchdog.js';
import { countingClock, listenerDiff, listenersOn, useProcessProblems, within } from '../helpers/leaks.js';
import { createTestTransport, createTestWebRtcServer, type WebRtcTransport } from '../helpers/mediasoup.js';
import { useMediasoup } from '../helpers/mediasoup-fixture.js';
import { type EventLog, recordEvents } from '../helpers/watch-events.js';
import { closeAllWeriftClients, spawnWeriftClient } from '../helpers/werift/harness.js';

const problems = useProcessProblems();
const sfu = useMediasoup({ closeClients: [closeAllWeriftClients] });

interface Watched {
	readonly transport: WebRtcTransport;
	readonly watch: TransportWatch<WebRtcTransport>;
	readonly events: EventLog;
	/** Listeners on the transport before the watch (mediasoup's own and the test harness's come later). */
	readonly before: Record<string, number>;
	/** Listeners the watch added. */
	readonly own: Record<string, number>;
}

function harness(policy: WatchdogPolicyOptions) {
	const clock = countingClock();
	const watchdog = createWatchdog(policy, { clock });
	const watch = (transport: WebRtcTransport, options: WatchOptions = { worker: sfu.worker }): Watched => {
		const before = listenersOn(transport);
		const w = watchdog.watch(transport, options);
		const own = listenerDiff(listenersOn(transport), before);
		return { transport, watch: w, events: recordEvents(w), before, own };
	};
	return { clock, watchdog, watch };
}

/** The watch ended once, for `reason`, and the watchdog left nothing on the transport. */
async function expectEndedOnce(watched: Watched, reason: string, extraListeners: Record<string, number> = {}): Promise<void> {
	const info = await within(watched.watch.closed, 5_000, `${watched.transport.id} closed`);
	expect(info.reason).toBe(reason);
	expect(watched.watch.closeReason).toBe(reason);
	expect(watched.watch.state).toBe('closed');
	expect(watched.events.of('close')).toEqual([info]);
	expect(watched.events.names().at(-1)).toBe('close');
	expect(watched.watch.transport).toBeUndefined();
	expect(watched.watch.listenerCount()).toBe(0);
	expect(Object.keys(watched.own).length).toBeGreaterThan(0);
	// What is left is what was there before the watch, plus the test harness's own listeners.
	expect(listenerDiff(listenersOn(watched.transport), watched.before)).toEqual(extraListeners);
}

const kill = (): void => {
	process.kill(sfu.worker.pid, 'SIGKILL');
};

type RestartIceRequest = ReturnType<WebRtcTransport['restartIce']>;

/**
 * Replaces `transport.restartIce` (what the watch calls to ask mediasoup) with a spy that counts
 * the calls and runs `around(send)`, `send()` making the real request; `sent` reads the count.
 */
function spyRestartIce(
	transport: WebRtcTransport,
	around: (send: () => RestartIceRequest) => RestartIceRequest = (send) => send(),
): { readonly sent: number } {
	const original = transport.restartIce.bind(transport);
	let sent = 0;
	transport.restartIce = () => {
		sent += 1;
		return around(original);
	};
	return {
		get sent() {
			return sent;
		},
	};
}

/** What `promise` rejects with (`undefined` if it fulfils). */
const rejectionOf = (promise: Promise<unknown>): Promise<unknown> =>
	promise.then(
		() => undefined,
		(reason: unknown) => reason,
	);

/** A transport connected by a real werift client (data-only, its own port). */
async function connectedByWerift(watch: (transport: WebRtcTransport) => Watched, userId: string) {
	// Spawned before the watch: the spawn (tsx + werift, over 15 s on 2 busy cores) is the harness's cost, not the client's.
	const peer = await spawnWeriftClient();
	const transport = await createTestTransport(sfu.router, { enableSctp: true, appData: { userId } });
	const watched = watch(transport);
	const beforeClient = listenersOn(transport);
	const client = await peer.connect({ transport, echo: false });
	await client.waitForConnected();
	expect(watched.watch.state).toBe('connected');
	return { ...watched, client, clientListeners: listenerDiff(listenersOn(transport), beforeClient) };
}

describe('worker SIGKILL', () => {
	it('while 24 transports wait for their first connect: each watch ends once with `worker-died` (or `router-closed` without the worker), deadlines cleared', async () => {
		const { clock, watchdog, watch } = harness({ connectTimeoutMs: 10_000 });
		const server = await createTestWebRtcServer(sfu.worker);
		const watched: Watched[] = [];
		for (let n = 0; n < 24; n++) {
			const transport = await createTestTransport(sfu.router, {
				appData: { userId: `user-${n % 6}` },
				...(n % 2 === 1 ? { webRtcServer: server } : {}),
			});
			// The last four are watched without `{ worker }`: mediasoup alone cannot tell a death from a router close.
			watched.push(watch(transport, n < 20 ? { worker: sfu.worker } : {}));
		}
		expect(clock.pending()).toBe(24);
		const killedAt = performance.now();
		kill();
		const infos = await within(Promise.all(watched.map((w) => w.watch.closed)), 5_000, 'every watch closed');
		console.info(`SIGKILL → all 24 watches closed in ${(performance.now() - killedAt).toFixed(0)} ms`);
		for (const [n, w] of watched.entries()) await expectEndedOnce(w, n < 20 ? 'worker-died' : 'router-closed');
		for (const info of infos.slice(0, 20)) {
			expect(info).toMatchObject({ reason: 'worker-died', clean: false, closedByWatchdog: false, connectedOnce: false });
		}
		expect(clock.pending()).toBe(0);
		expect(watchdog.snapshot().transports).toEqual({ connecting: 0, connected: 0, disconnected: 0, restarting: 0 });
		expect(watchdog.snapshot().closes).toEqual({ 'worker-died': 20, 'router-closed': 4 });
		expect(await watchdog.canCreate('user-0')).toBe(true);
		expect(problems.seen).toEqual([]);
	});

	it('during a granted restart (restart deadline armed, baseline getStats() in flight): `worker-died`, restart timer cleared', async () => {
		const { clock, watchdog, watch } = harness({
			connectTimeoutMs: 10_000,
			inactivityTimeoutMs: Number.POSITIVE_INFINITY,
			iceRestart: { reconnectTimeoutMs: 5_000 },
		});
		const w = await connectedByWerift(watch, 'restarter');
		const iceParameters = await w.watch.restartIce();
		expect(iceParameters.usernameFragment).toEqual(expect.any(String));
		expect(w.watch.state).toBe('restarting');
		expect(clock.pending()).toBeGreaterThanOrEqual(1);
		kill();
		await expectEndedOnce(w, 'worker-died', w.clientListeners);
		expect(w.events.transitions()).toEqual(['connecting→connected', 'connected→restarting', 'restarting→closed']);
		expect(clock.pending()).toBe(0);
		expect(watchdog.snapshot().restarts.granted).toBe(1);
		expect(problems.seen).toEqual([]);
	});

	it('while mediasoup`s own restartIce() request is in flight: the call is refused as `closed`, the watch ends with `worker-died`', async () => {
		const { clock, watch } = harness({ inactivityTimeoutMs: Number.POSITIVE_INFINITY });
		const w = await connectedByWerift(watch, 'restarter');
		const spy = spyRestartIce(w.transport, (send) => {
			// Frozen first, so the worker cannot answer the request before SIGKILL lands.
			process.kill(sfu.worker.pid, 'SIGSTOP');
			const request = send();
			kill();
			return request;
		});
		const error = await rejectionOf(w.watch.restartIce());
		expect(spy.sent).toBe(1);
		expect(isIceRestartDeniedError(error) && error.reason).toBe('closed');
		// mediasoup's own rejection is kept as the cause.
		expect(String((error as Error).cause)).toContain('Channel closed');
		await expectEndedOnce(w, 'worker-died', w.clientListeners);
		expect(w.events.of('icerestart')).toEqual([]);
		expect(clock.pending()).toBe(0);
		expect(problems.seen).toEqual([]);
	});

	it('while a liveness getStats() poll is in flight: `worker-died`, the scheduler lets the transport go', async () => {
		const { clock, watchdog, watch } = harness({
			inactivityTimeoutMs: 5_000,
			liveness: { pollIntervalMs: 100 },
		});
		const w = await connectedByWerift(watch, 'polled');
		const polled = new Promise<string>((resolve) => {
			for (const method of ['getStats', 'dump'] as const) {
				const original = w.transport[method].bind(w.transport) as () => Promise<unknown>;
				(w.transport as unknown as Record<string, () => Promise<unknown>>)[method] = () => {
					const request = original();
					if (!sfu.worker.died && !sfu.worker.closed) {
						kill();
						resolve(method);
					}
					return request;
				};
			}
		});
		const method = await within(polled, 5_000, 'a liveness poll');
		console.info(`worker killed with a liveness ${method}() in flight`);
		await expectEndedOnce(w, 'worker-died', w.clientListeners);
		expect(watchdog.snapshot().liveness).toMatchObject({ tracked: 0, stalled: 0 });
		expect(clock.pending()).toBe(0);
		expect(problems.seen).toEqual([]);
	});
});

describe('router closed during restartIce()', () => {
	const policy: WatchdogPolicyOptions = {
		inactivityTimeoutMs: Number.POSITIVE_INFINITY,
		// No client needed: the restart reaches mediasoup on a never-connected transport.
		iceRestart: { requireConnectedOnce: false },
	};

	it('before the gate decides: refused as `closed`, mediasoup never asked, the watch ends with `router-closed`', async () => {
		const { clock, watch } = harness(policy);
		const transport = await createTestTransport(sfu.router, { appData: { userId: 'u' } });
		const w = watch(transport);
		const spy = spyRestartIce(transport);
		const request = w.watch.restartIce();
		sfu.router.close();
		const error = await rejectionOf(request);
		expect(isIceRestartDeniedError(error) && error.reason).toBe('closed');
		expect(spy.sent).toBe(0);
		await expectEndedOnce(w, 'router-closed');
		expect(clock.pending()).toBe(0);
		expect(problems.seen).toEqual([]);
	});

	it('while mediasoup`s request is in flight: refused as `closed`, no state after the close, the watch ends with `router-closed`', async () => {
		const { clock, watch } = harness(policy);
		const transport = await createTestTransport(sfu.router, { appData: { userId: 'u' } });
		const w = watch(transport);
		const spy = spyRestartIce(transport, (send) => {
			const response = send();
			sfu.router.close();
			return response;
		});
		const error = await rejectionOf(w.watch.restartIce());
		expect(spy.sent).toBe(1);
		expect(isIceRestartDeniedError(error) && error.reason).toBe('closed');
		await expectEndedOnce(w, 'router-closed');
		expect(w.events.transitions()).toEqual(['connecting→closed']);
		expect(clock.pending()).toBe(0);
		expect(problems.seen).toEqual([]);
	});
});
