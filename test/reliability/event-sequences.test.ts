// Bad input, property-based: arbitrary sequences of what mediasoup, the client, the app and the
// clock can do to a few watched fake transports never break the state machine's invariants:
// one terminal state, one reason, one `close` event, `closed` settling with that reason, only
// allowed transitions, no deadline after a connect, `restartIce()` settling only with a value or
// one of our errors, no event after `close`, consistent snapshot counts, and at the end no timer
// and no listener left. Listeners and app hooks that re-enter the watch (close/stop/closeUser from
// inside events, closing the transport from mediasoup's own observer) are part of the input, and
// so are stores that throw, reject or answer nonsense.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
	type CloseInfo,
	isIceRestartDeniedError,
	isIceRestartFailedError,
	type TransportWatch,
	type TransportWatchEvents,
	type WatchableTransport,
	type WatchdogPolicyOptions,
	type WatchdogStore,
	type WatchState,
} from '../../src/index.js';
import { createWatchdog } from '../../src/watchdog.js';
import {
	type FakeDtlsState,
	type FakeIceState,
	FakeWebRtcServer,
	FakeWebRtcTransport,
	FakeWorker,
} from '../helpers/fake-transport.js';
import { checkProperty } from '../helpers/fc-seed.js';
import { flushJobs, listenerTotal, watchProcessProblems } from '../helpers/leaks.js';
import { SyncManualClock as ManualClock } from '../helpers/manual-clock.js';

/* ------------------------------------------------------------------ input */

const ms = (max: number) => fc.oneof(fc.integer({ min: 0, max }), fc.constant(Number.POSITIVE_INFINITY));

const policyArb = fc.record({
	connectTimeoutMs: fc.oneof(fc.integer({ min: 1, max: 120 }), fc.constant(Number.POSITIVE_INFINITY)),
	disconnectGraceMs: ms(120),
	inactivityTimeoutMs: fc.oneof(fc.integer({ min: 10, max: 300 }), fc.constant(Number.POSITIVE_INFINITY)),
	liveness: fc.record({
		pollIntervalMs: fc.integer({ min: 1, max: 100 }),
		maxStatsRequestsPerSecond: fc.integer({ min: 1, max: 1_000 }),
	}),
	iceRestart: fc.record({
		requireConnectedOnce: fc.boolean(),
		reconnectTimeoutMs: ms(120),
		perUser: fc.oneof(
			fc.constant(false as const),
			fc.record({ limit: fc.integer({ min: 1, max: 3 }), windowMs: fc.integer({ min: 1, max: 200 }) }),
		),
	}),
	maxPendingPerUser: fc.oneof(fc.integer({ min: 0, max: 3 }), fc.constant(Number.POSITIVE_INFINITY)),
	onStoreError: fc.constantFrom('deny', 'allow'),
});

/** How the store behaves: the default memory store, or one that misbehaves in a given way. */
const storeArb = fc.constantFrom('memory', 'throws', 'rejects', 'nonsense', 'slow');

const iceStates: FakeIceState[] = ['new', 'connected', 'completed', 'disconnected'];
const dtlsStates: FakeDtlsState[] = ['new', 'connecting', 'connected', 'failed', 'closed'];
const watchEvents = ['statechange', 'connect', 'disconnect', 'reconnect', 'icerestart', 'close', 'listenererror'] as const;
const reentrant = ['close', 'stop', 'transportClose', 'restart', 'closeUser', 'throw', 'watchdogStop'] as const;

const i = fc.nat(3);
const commandArb = fc.oneof(
	{ weight: 6, arbitrary: fc.record({ kind: fc.constant('ice' as const), i, state: fc.constantFrom(...iceStates) }) },
	{ weight: 6, arbitrary: fc.record({ kind: fc.constant('dtls' as const), i, state: fc.constantFrom(...dtlsStates) }) },
	{ weight: 2, arbitrary: fc.record({ kind: fc.constant('connectClient' as const), i }) },
	{
		weight: 2,
		arbitrary: fc.record({ kind: fc.constant('tuple' as const), i, protocol: fc.constantFrom('udp' as const, 'tcp' as const) }),
	},
	{ weight: 6, arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 150 }) }) },
	{ weight: 3, arbitrary: fc.record({ kind: fc.constant('bytes' as const), i, n: fc.integer({ min: 1, max: 1_000 }) }) },
	{ weight: 4, arbitrary: fc.record({ kind: fc.constant('restart' as const), i, times: fc.integer({ min: 1, max: 3 }) }) },
	{ weight: 2, arbitrary: fc.record({ kind: fc.constant('close' as const), i }) },
	{ weight: 2, arbitrary: fc.record({ kind: fc.constant('stop' as const), i }) },
	{ weight: 2, arbitrary: fc.record({ kind: fc.constant('transportClose' as const), i }) },
	{ weight: 1, arbitrary: fc.record({ kind: fc.constant('routerClose' as const) }) },
	{ weight: 1, arbitrary: fc.record({ kind: fc.constant('serverClose' as const) }) },
	{ weight: 1, arbitrary: fc.record({ kind: fc.constant('workerDie' as const) }) },
	{ weight: 1, arbitrary: fc.record({ kind: fc.constant('closeUser' as const) }) },
	{ weight: 2, arbitrary: fc.record({ kind: fc.constant('flush' as const) }) },
	{ weight: 1, arbitrary: fc.record({ kind: fc.constant('watchAgain' as const), i }) },
	{
		weight: 3,
		arbitrary: fc.record({
			kind: fc.constant('hook' as const),
			i,
			event: fc.constantFrom(...watchEvents),
			action: fc.constantFrom(...reentrant),
		}),
	},
	{
		weight: 2,
		arbitrary: fc.record({
			kind: fc.constant('appHook' as const),
			i,
			on: fc.constantFrom('close', 'dtlsstatechange', 'icestatechange'),
			action: fc.constantFrom('close', 'stop', 'closeUser', 'transportClose', 'restart'),
		}),
	},
	{ weight: 1, arbitrary: fc.record({ kind: fc.constant('observerHook' as const), action: fc.constantFrom(...reentrant) }) },
	{
		weight: 1,
		arbitrary: fc.record({ kind: fc.constant('statsMode' as const), i, mode: fc.constantFrom('ok', 'reject', 'late', 'hang') }),
	},
	{
		weight: 1,
		arbitrary: fc.record({ kind: fc.constant('restartMode' as const), i, mode: fc.constantFrom('ok', 'reject', 'closeDuring') }),
	},
);
type Command = typeof commandArb extends fc.Arbitrary<infer C> ? C : never;

/* ------------------------------------------------------------------ the world one run plays in */

const TERMINAL: ReadonlySet<WatchState> = new Set(['closed', 'stopped']);
const EDGES: Record<WatchState, readonly WatchState[]> = {
	connecting: ['connected', 'closed', 'stopped'],
	connected: ['disconnected', 'restarting', 'closed', 'stopped'],
	disconnected: ['connected', 'restarting', 'closed', 'stopped'],
	restarting: ['connected', 'closed', 'stopped'],
	closed: [],
	stopped: [],
};
/** Reasons for which the watchdog closes the transport itself. */
const CAUSED = new Set([
	'connect-timeout',
	'dtls-closed',
	'dtls-failed',
	'ice-disconnected',
	'inactive',
	'restart-timeout',
	'pending-limit',
	'signaling-closed',
	'signaling-lost',
	'app',
]);

type AnyWatch = TransportWatch<WatchableTransport<unknown>>;

interface Tracked {
	readonly watch: AnyWatch;
	readonly transport: FakeWebRtcTransport;
	readonly startedAt: number;
	readonly events: Array<{ name: keyof TransportWatchEvents; payload: unknown }>;
	/** Ended before watch() returned (an observer listener stopped it): no listener could be added. */
	readonly endedBeforeReturn: boolean;
	settled: CloseInfo | undefined;
	settleCount: number;
	lastState: WatchState;
	lastReason: string | undefined;
}

function misbehavingStore(kind: string): WatchdogStore | undefined {
	const boom = (): never => {
		throw new Error('store down (thrown)');
	};
	// Answers on the next turn of the event loop (not through the clock, whose timers the test counts).
	const later = <T>(value: T): Promise<T> =>
		new Promise((resolve) => {
			setImmediate(() => resolve(value));
		});
	switch (kind) {
		case 'throws':
			return { consumeRestart: boom, addPending: boom, removePending: boom, countPending: boom };
		case 'rejects':
			return {
				consumeRestart: async () => boom(),
				addPending: async () => boom(),
				removePending: async () => boom(),
				countPending: async () => boom(),
			};
		case 'nonsense':
			return {
				consumeRestart: (() => 'yes') as never,
				addPending: (() => undefined) as never,
				removePending: (() => 42) as never,
				countPending: (() => Number.NaN) as never,
			};
		case 'slow':
			return {
				consumeRestart: () => later({ allowed: true, retryAfterMs: 0 }),
				addPending: () => later(1),
				removePending: () => later(undefined),
				countPending: () => later(0),
			};
		default:
			return undefined;
	}
}

async function play(
	policyOptions: WatchdogPolicyOptions,
	storeKind: string,
	transportsCount: number,
	commands: Command[],
): Promise<void> {
	const clock = new ManualClock();
	const store = misbehavingStore(storeKind);
	const watchdog = createWatchdog({ ...policyOptions, ...(store ? { store } : {}) }, { clock });
	const worker = new FakeWorker();
	const router = worker.createRouter();
	const server = new FakeWebRtcServer();
	const tracked: Tracked[] = [];
	const observerCloses = new Map<string, CloseInfo[]>();
	const restartOutcomes: Array<Promise<string>> = [];
	/** getStats() answers held back until the very end (a worker that is slow to answer). */
	const heldStats: Array<() => void> = [];
	const observerHooks: Array<() => void> = [];
	/** Listeners the test itself put on each transport (app hooks), which no watch may remove. */
	const appListeners = new Map<FakeWebRtcTransport, number>();
	watchdog.observer.on('close', (info) => {
		const list = observerCloses.get(info.transportId) ?? [];
		list.push(info);
		observerCloses.set(info.transportId, list);
	});
	/** Observer events per transport, in order. */
	type ObservedPayload = { transportId: string; from?: WatchState; to?: WatchState };
	const observed = new Map<string, Array<{ name: string; payload: ObservedPayload }>>();
	for (const name of ['watch', 'statechange', 'connect', 'icerestart', 'close'] as const) {
		watchdog.observer.on(name, (payload: ObservedPayload) => {
			const list = observed.get(payload.transportId) ?? [];
			list.push({ name, payload });
			observed.set(payload.transportId, list);
		});
	}

	const restart = (t: Tracked): void => {
		restartOutcomes.push(
			t.watch.restartIce().then(
				() => 'granted',
				(error: unknown) => {
					if (isIceRestartDeniedError(error)) return `denied:${error.reason}`;
					if (isIceRestartFailedError(error)) return 'failed';
					throw new Error(`restartIce() rejected with something else: ${String(error)}`);
				},
			),
		);
	};
	const closeTransport = (transport: FakeWebRtcTransport): void => {
		if (!transport.closed) transport.close();
	};
	const act = (t: Tracked, action: (typeof reentrant)[number]): void => {
		switch (action) {
			case 'close':
				t.watch.close('from a listener');
				return;
			case 'stop':
				t.watch.stop();
				return;
			case 'transportClose':
				closeTransport(t.transport);
				return;
			case 'restart':
				restart(t);
				return;
			case 'closeUser':
				watchdog.closeUser('u', 'from a listener');
				return;
			case 'watchdogStop':
				watchdog.stop();
				return;
			case 'throw':
				throw new Error('listener that throws');
		}
	};

	const watch = (transport: FakeWebRtcTransport): void => {
		const w = watchdog.watch(transport, { worker }) as unknown as AnyWatch;
		const existing = tracked.find((t) => t.watch === w);
		if (existing) return;
		const t: Tracked = {
			watch: w,
			transport,
			startedAt: clock.now(),
			events: [],
			endedBeforeReturn: TERMINAL.has(w.state),
			settled: undefined,
			settleCount: 0,
			lastState: w.state,
			lastReason: w.closeReason,
		};
		if (!t.endedBeforeReturn) for (const name of watchEvents) w.on(name, (payload: unknown) => t.events.push({ name, payload }));
		void w.closed.then((info) => {
			t.settled = info;
			t.settleCount += 1;
		});
		tracked.push(t);
	};

	for (let n = 0; n < transportsCount; n++) {
		const transport =
			n === 2
				? new FakeWebRtcTransport({ appData: { userId: 'u' }, webRtcServer: server })
				: router.createWebRtcTransport({ appData: { userId: 'u' } });
		watch(transport);
	}
	const current = (index: number): Tracked => {
		const byTransport = [...new Set(tracked.map((t) => t.transport))];
		const transport = byTransport[index % byTransport.length] as FakeWebRtcTransport;
		return tracked.filter((t) => t.transport === transport).at(-1) as Tracked;
	};

	/** `deep` after the promise jobs ran (settling of `closed` is checked then). */
	const check = (step: string, deep: boolean): void => {
		const active = { connecting: 0, connected: 0, disconnected: 0, restarting: 0 };
		for (const t of tracked) {
			const { watch: w } = t;
			const where = `${step} [${t.transport.id}]`;
			expect(Object.keys(EDGES), where).toContain(w.state);
			if (TERMINAL.has(t.lastState)) {
				expect(w.state, `${where}: left a terminal state`).toBe(t.lastState);
				expect(w.closeReason, `${where}: the reason changed`).toBe(t.lastReason);
			}
			// Transitions chain and follow the allowed edges.
			let from: WatchState | undefined;
			for (const { name, payload } of t.events) {
				if (name !== 'statechange') continue;
				const change = payload as { from: WatchState; to: WatchState };
				if (from !== undefined) expect(change.from, where).toBe(from);
				expect(EDGES[change.from], `${where}: ${change.from} → ${change.to}`).toContain(change.to);
				from = change.to;
			}
			const closes = t.events.filter((e) => e.name === 'close');
			const connects = t.events.filter((e) => e.name === 'connect');
			expect(connects.length, where).toBeLessThanOrEqual(1);
			if (TERMINAL.has(w.state)) {
				expect(w.closeReason, where).toBeDefined();
				expect(w.transport, `${where}: still holds the transport`).toBeUndefined();
				if (deep) expect(w.listenerCount(), `${where}: listeners left on the handle`).toBe(0);
				expect(t.settleCount, `${where}: closed settled more than once`).toBeLessThanOrEqual(1);
				expect(closes.length, `${where}: close events`).toBeLessThanOrEqual(1);
				if (deep) {
					expect(t.settleCount, `${where}: closed did not settle`).toBe(1);
					expect(t.settled?.reason, where).toBe(w.closeReason);
				}
				const watchedAgain = tracked.some((other) => other.transport === t.transport && !TERMINAL.has(other.watch.state));
				if (!watchedAgain) {
					expect(listenerTotal(t.transport), `${where}: listeners left on the transport`).toBe(
						appListeners.get(t.transport) ?? 0,
					);
				}
				const observedCloses = observerCloses.get(t.transport.id) ?? [];
				if (w.state === 'stopped') {
					expect(w.closeReason).toBe('stopped');
					expect(closes, where).toEqual([]);
				} else if (!t.endedBeforeReturn && (deep || closes.length === 1)) {
					// (Ended from inside a listener, the watch announces it a microtask later.)
					expect(closes.length, `${where}: close events`).toBe(1);
					expect((closes[0]?.payload as CloseInfo | undefined)?.reason, where).toBe(w.closeReason);
					if (deep) expect(t.settled, where).toBe(closes[0]?.payload);
					// Only listenererror (from a throwing close listener) may follow the close event.
					const after = t.events.slice(t.events.indexOf(closes[0] as (typeof t.events)[number]) + 1);
					expect(
						after.filter((e) => e.name !== 'listenererror').map((e) => e.name),
						`${where}: events after close`,
					).toEqual([]);
					expect(observedCloses.filter((info) => info === closes[0]?.payload).length, `${where}: observer close`).toBe(1);
					const closedWatches = tracked.filter((other) => other.transport === t.transport && other.watch.state === 'closed');
					if (deep) expect(observedCloses.length, `${where}: observer closes`).toBe(closedWatches.length);
					if (t.settled?.closedByWatchdog) expect(t.transport.closed, where).toBe(true);
					if (CAUSED.has(w.closeReason as string))
						expect(t.transport.closed, `${where}: ${w.closeReason} left the transport open`).toBe(true);
				}
				if (w.closeReason === 'connect-timeout') {
					expect(connects, `${where}: deadline after a connect`).toEqual([]);
					expect(w.connectedOnce, where).toBe(false);
					const info = closes[0]?.payload as CloseInfo;
					expect(info.durationMs, where).toBeGreaterThanOrEqual(policyOptions.connectTimeoutMs as number);
				}
			} else {
				expect(w.closeReason, where).toBeUndefined();
				expect(closes, where).toEqual([]);
				expect(t.settleCount, where).toBe(0);
				active[w.state as keyof typeof active] += 1;
			}
			t.lastState = w.state;
			t.lastReason = w.closeReason;
		}
		// The observer sees each transport's life in order too: a chain of states, nothing after `close`
		// but a new `watch` of the same transport.
		for (const [transportId, list] of observed) {
			let state: WatchState | undefined;
			let closeSeen = false;
			for (const { name, payload } of list) {
				const where = `${step} [${transportId}] observer ${name}`;
				if (name === 'watch') {
					expect(state === undefined || TERMINAL.has(state), `${where}: watched while ${state}`).toBe(true);
					state = 'connecting';
					closeSeen = false;
				} else if (name === 'statechange') {
					expect(payload.from, where).toBe(state);
					expect(EDGES[payload.from as WatchState], `${where}: ${payload.from} → ${payload.to}`).toContain(payload.to);
					state = payload.to;
				} else if (name === 'close') {
					expect(state === 'closed' && !closeSeen, `${where} while ${state}, close seen: ${closeSeen}`).toBe(true);
					closeSeen = true;
				} else if (name === 'icerestart' && (payload as { reason?: string }).reason === 'closed') {
					// A refused restart of an ended watch: the observer still counts the decision.
				} else {
					expect(state !== undefined && !TERMINAL.has(state), `${where} while ${state}`).toBe(true);
				}
			}
		}
		if (!deep) return;
		// (A watch ended from inside a listener is counted when it announces its end, a microtask later.)
		expect(watchdog.snapshot().transports, `${step}: snapshot`).toEqual(active);
		const closedCount = tracked.filter((t) => t.watch.state === 'closed').length;
		const totalCloses = Object.values(watchdog.snapshot().closes).reduce((a, b) => a + (b ?? 0), 0);
		expect(totalCloses, `${step}: closes counted`).toBe(closedCount);
	};

	const problems = watchProcessProblems();
	try {
		for (const [n, command] of commands.entries()) {
			const step = `#${n} ${JSON.stringify(command)}`;
			switch (command.kind) {
				case 'ice': {
					const t = current(command.i);
					if (!t.transport.closed) t.transport.emitIceState(command.state);
					break;
				}
				case 'dtls': {
					const t = current(command.i);
					if (!t.transport.closed) t.transport.emitDtlsState(command.state);
					break;
				}
				case 'connectClient': {
					const t = current(command.i);
					// connectClient(), one notification at a time: a listener may close the transport midway.
					const steps = [
						() => t.transport.emitIceState('connected'),
						() => t.transport.emitSelectedTuple(),
						() => t.transport.emitDtlsState('connecting'),
						() => t.transport.emitDtlsState('connected'),
						() => t.transport.emitIceState('completed'),
					];
					for (const emit of steps) if (!t.transport.closed) emit();
					break;
				}
				case 'tuple': {
					const t = current(command.i);
					if (!t.transport.closed) t.transport.emitSelectedTuple({ protocol: command.protocol });
					break;
				}
				case 'advance':
					clock.advance(command.ms);
					break;
				case 'bytes':
					current(command.i).transport.bytesReceived += command.n;
					break;
				case 'restart':
					for (let k = 0; k < command.times; k++) restart(current(command.i));
					break;
				case 'close':
					current(command.i).watch.close('test');
					break;
				case 'stop':
					current(command.i).watch.stop();
					break;
				case 'transportClose':
					closeTransport(current(command.i).transport);
					break;
				case 'routerClose':
					router.close();
					break;
				case 'serverClose':
					server.close();
					break;
				case 'workerDie':
					worker.die();
					break;
				case 'closeUser':
					watchdog.closeUser('u');
					break;
				case 'flush':
					await flushJobs(1);
					break;
				case 'watchAgain': {
					const t = current(command.i);
					if (!t.transport.closed) watch(t.transport);
					break;
				}
				case 'hook': {
					const t = current(command.i);
					// (A listener added to an ended handle just stays on that handle, as with any emitter.)
					if (TERMINAL.has(t.watch.state)) break;
					const listener = (): void => act(t, command.action);
					t.watch.once(command.event, listener);
					break;
				}
				case 'appHook': {
					const t = current(command.i);
					if (t.transport.closed) break;
					const source = command.on === 'close' ? t.transport.observer : t.transport;
					let fired = false;
					source.on(command.on, () => {
						if (fired) return;
						fired = true;
						act(t, command.action);
					});
					appListeners.set(t.transport, (appListeners.get(t.transport) ?? 0) + 1);
					break;
				}
				case 'observerHook': {
					let fired = false;
					const listener = (): void => {
						if (fired) return;
						fired = true;
						const t = tracked.find((candidate) => !TERMINAL.has(candidate.watch.state)) ?? tracked[0];
						if (t) act(t, command.action);
					};
					watchdog.observer.on('statechange', listener);
					observerHooks.push(() => watchdog.observer.off('statechange', listener));
					break;
				}
				case 'statsMode': {
					const { transport } = current(command.i);
					if (command.mode === 'ok') transport.getStatsImpl = undefined;
					if (command.mode === 'reject') transport.getStatsImpl = () => Promise.reject(new Error('worker busy'));
					if (command.mode === 'hang') {
						transport.getStatsImpl = () =>
							new Promise((resolve, reject) => {
								heldStats.push(() => {
									if (transport.closed) reject(new Error('InvalidStateError: transport closed'));
									else resolve(transport.getStats());
								});
							});
					}
					if (command.mode === 'late') {
						transport.getStatsImpl = () =>
							new Promise((resolve) => {
								setImmediate(() => {
									transport.getStatsImpl = undefined;
									resolve(transport.getStats());
								});
							});
					}
					break;
				}
				case 'restartMode': {
					const { transport } = current(command.i);
					if (command.mode === 'ok') transport.restartIceImpl = undefined;
					if (command.mode === 'reject') transport.restartIceImpl = () => Promise.reject(new Error('mediasoup says no'));
					if (command.mode === 'closeDuring') {
						transport.restartIceImpl = async () => {
							transport.restartIceImpl = undefined;
							router.close();
							throw new Error('InvalidStateError: transport closed');
						};
					}
					break;
				}
			}
			check(step, command.kind === 'flush');
		}

		// The end: release whatever is still watched, let every promise and timer run out.
		await flushJobs(2);
		check('before stop', true);
		for (const off of observerHooks) off();
		watchdog.stop();
		await flushJobs(2);
		expect(clock.pending(), 'timers left right after the watchdog stopped').toBe(0);
		for (const release of heldStats) {
			for (const t of tracked) t.transport.getStatsImpl = undefined;
			release();
		}
		await flushJobs(2);
		clock.advance(3_000);
		await flushJobs(2);
		check('after stop', true);
		for (const t of tracked) expect(TERMINAL.has(t.watch.state)).toBe(true);
		const outcomes = await Promise.all(restartOutcomes);
		for (const outcome of outcomes)
			expect(outcome).toMatch(/^(granted|failed|denied:(never-connected|rate-limited|closed|store-unavailable))$/);
		expect(clock.pending(), 'timers left after the watchdog stopped').toBe(0);
		expect(problems.seen, 'unhandled rejections or uncaught exceptions').toEqual([]);
	} finally {
		problems.dispose();
	}
}

describe('arbitrary event sequences on fake transports', () => {
	it('never break the invariants: one terminal state, one reason, one close, `closed` settles once, no deadline after connect, nothing left', async () => {
		await checkProperty(
			fc.asyncProperty(
				policyArb,
				storeArb,
				fc.integer({ min: 1, max: 3 }),
				fc.array(commandArb, { minLength: 1, maxLength: 40 }),
				(policy, store, count, commands) => play(policy, store, count, commands),
			),
			{ numRuns: 200 },
		);
	});

	it('never break them when every listener throws on every event', async () => {
		const throwing = fc.array(
			fc.record({
				kind: fc.constant('hook' as const),
				i: fc.nat(3),
				event: fc.constantFrom(...watchEvents),
				action: fc.constant('throw' as const),
			}),
			{ minLength: 3, maxLength: 10 },
		);
		await checkProperty(
			fc.asyncProperty(
				policyArb,
				fc.integer({ min: 1, max: 3 }),
				throwing,
				fc.array(commandArb, { maxLength: 30 }),
				(policy, count, hooks, commands) => play(policy, 'memory', count, [...hooks, ...commands]),
			),
			{ numRuns: 100 },
		);
	});
});
