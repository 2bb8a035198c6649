// Bad input, property-based: whatever a JavaScript caller passes as a policy, as watch options or
// as an argument of the watchdog's methods, the answer is the documented TypeError/RangeError
// (naming the option in backticks) or a valid, frozen result. Never another error, never a
// half-registered watch, never a listener left on the transport.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_TIMER_MS } from '../../src/clock.js';
import {
	DEFAULT_POLICY,
	definePolicy,
	type WatchdogPolicy,
	type WatchdogPolicyOptions,
	type WatchOptions,
	watchTransport,
} from '../../src/index.js';
import { createWatchdog } from '../../src/watchdog.js';
import { FakeWebRtcTransport } from '../helpers/fake-transport.js';
import { checkProperty } from '../helpers/fc-seed.js';
import { flushJobs, listenerTotal } from '../helpers/leaks.js';
import { SyncManualClock as ManualClock } from '../helpers/manual-clock.js';

const RUNS = 1_000;

/* ------------------------------------------------------------------ an oracle of the documented rules */

type Verdict = { ok: true } | { ok: false; error: typeof TypeError | typeof RangeError; name: string };
const OK: Verdict = { ok: true };
const typeError = (name: string): Verdict => ({ ok: false, error: TypeError, name });
const rangeError = (name: string): Verdict => ({ ok: false, error: RangeError, name });

function isPlainObject(value: unknown): value is Record<string, unknown> {
	return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function numberVerdict(value: unknown, name: string): Verdict | number {
	if (typeof value !== 'number') return typeError(name);
	if (Number.isNaN(value)) return rangeError(name);
	return value;
}

/** A duration: 0 (or `min`) … 2^31-1 ms, or Infinity unless `finite`. */
function durationVerdict(value: unknown, name: string, min = 0, finite = false): Verdict {
	if (value === undefined) return OK;
	const n = numberVerdict(value, name);
	if (typeof n !== 'number') return n;
	if (n === Number.POSITIVE_INFINITY && !finite) return OK;
	return n >= min && n <= MAX_TIMER_MS ? OK : rangeError(name);
}

/** A whole count ≥ min, or Infinity. */
function countVerdict(value: unknown, name: string, min: number): Verdict {
	if (value === undefined) return OK;
	const n = numberVerdict(value, name);
	if (typeof n !== 'number') return n;
	if (n === Number.POSITIVE_INFINITY) return OK;
	return Number.isInteger(n) && n >= min ? OK : rangeError(name);
}

/** A rate per second: finite, > 0, and paced by a timer (its interval, 1000 / rate ms, at most 2^31-1 ms). */
function perSecondVerdict(value: unknown, name: string): Verdict {
	if (value === undefined) return OK;
	const n = numberVerdict(value, name);
	if (typeof n !== 'number') return n;
	return n > 0 && Number.isFinite(n) && 1000 / n <= MAX_TIMER_MS ? OK : rangeError(name);
}

function keysVerdict(bag: Record<string, unknown>, path: string, known: readonly string[]): Verdict[] {
	return Object.keys(bag)
		.filter((key) => !known.includes(key))
		.map((key) => typeError(path ? `${path}.${key}` : key));
}

/** Every documented reason to refuse `input` (empty when it must be accepted). */
function expectedFailures(input: unknown): Verdict[] {
	if (input === undefined) return [];
	if (!isPlainObject(input)) return [typeError('policy')];
	const failures: Verdict[] = [
		...keysVerdict(input, '', [
			'connectTimeoutMs',
			'disconnectGraceMs',
			'inactivityTimeoutMs',
			'liveness',
			'iceRestart',
			'maxPendingPerUser',
			'signalingGraceMs',
			'userId',
			'store',
			'onStoreError',
		]),
		durationVerdict(input.connectTimeoutMs, 'connectTimeoutMs', 1),
		durationVerdict(input.disconnectGraceMs, 'disconnectGraceMs'),
		durationVerdict(input.inactivityTimeoutMs, 'inactivityTimeoutMs'),
		durationVerdict(input.signalingGraceMs, 'signalingGraceMs'),
		countVerdict(input.maxPendingPerUser, 'maxPendingPerUser', 0),
	];
	const { liveness, iceRestart, userId, store, onStoreError } = input;
	if (liveness !== undefined) {
		if (!isPlainObject(liveness)) failures.push(typeError('liveness'));
		else {
			failures.push(...keysVerdict(liveness, 'liveness', ['maxStatsRequestsPerSecond', 'pollIntervalMs']));
			failures.push(perSecondVerdict(liveness.maxStatsRequestsPerSecond, 'liveness.maxStatsRequestsPerSecond'));
			failures.push(durationVerdict(liveness.pollIntervalMs, 'liveness.pollIntervalMs', 1, true));
		}
	}
	if (iceRestart !== undefined) {
		if (!isPlainObject(iceRestart)) failures.push(typeError('iceRestart'));
		else {
			failures.push(...keysVerdict(iceRestart, 'iceRestart', ['requireConnectedOnce', 'perUser', 'reconnectTimeoutMs']));
			const { requireConnectedOnce, perUser, reconnectTimeoutMs } = iceRestart;
			if (requireConnectedOnce !== undefined && typeof requireConnectedOnce !== 'boolean') {
				failures.push(typeError('iceRestart.requireConnectedOnce'));
			}
			failures.push(durationVerdict(reconnectTimeoutMs, 'iceRestart.reconnectTimeoutMs'));
			if (perUser !== undefined && perUser !== false) {
				if (!isPlainObject(perUser)) failures.push(typeError('iceRestart.perUser'));
				else {
					failures.push(...keysVerdict(perUser, 'iceRestart.perUser', ['limit', 'windowMs']));
					failures.push(countVerdict(perUser.limit, 'iceRestart.perUser.limit', 1));
					failures.push(durationVerdict(perUser.windowMs, 'iceRestart.perUser.windowMs', 1, true));
				}
			}
		}
	}
	if (userId !== undefined && typeof userId !== 'function') failures.push(typeError('userId'));
	if (store !== undefined) {
		if (!isPlainObject(store)) failures.push(typeError('store'));
		else {
			for (const method of ['consumeRestart', 'addPending', 'removePending', 'countPending']) {
				if (typeof store[method] !== 'function') failures.push(typeError('store'));
			}
		}
	}
	if (onStoreError !== undefined && onStoreError !== 'deny' && onStoreError !== 'allow') {
		if (typeof onStoreError === 'string' || !isPlainObject(onStoreError)) failures.push(typeError('onStoreError'));
		else {
			failures.push(...keysVerdict(onStoreError, 'onStoreError', ['restart', 'pending']));
			for (const key of ['restart', 'pending'] as const) {
				const action = onStoreError[key];
				if (action !== undefined && action !== 'deny' && action !== 'allow') failures.push(typeError(`onStoreError.${key}`));
			}
		}
	}
	return failures.filter((verdict) => !verdict.ok);
}

/* ------------------------------------------------------------------ generators */

const junk = fc.oneof(
	fc.string({ maxLength: 6 }),
	fc.boolean(),
	fc.constant(null),
	fc.constant(undefined),
	fc.bigInt({ min: -5n, max: 5n }),
	fc.array(fc.integer(), { maxLength: 2 }),
	fc.dictionary(fc.string({ maxLength: 4 }), fc.integer(), { maxKeys: 2 }),
	fc.func(fc.integer()),
	fc.constant(Symbol('junk')),
);

/** The next double after `x` towards +Infinity (`steps` > 0) or -Infinity (`steps` < 0). */
function nextDouble(x: number, steps: number): number {
	const view = new DataView(new ArrayBuffer(8));
	view.setFloat64(0, x);
	view.setBigInt64(0, view.getBigInt64(0) + BigInt(steps));
	return view.getFloat64(0);
}

/** The smallest request budget a timer can pace: one request per MAX_TIMER_MS. */
const MIN_RATE = 1000 / MAX_TIMER_MS;

const numberish = fc.oneof(
	{ weight: 4, arbitrary: fc.integer({ min: -5, max: 300_000 }) },
	{ weight: 2, arbitrary: fc.double({ noDefaultInfinity: false }) },
	{
		weight: 3,
		arbitrary: fc.constantFrom(
			0,
			-0,
			1,
			0.5,
			Number.NaN,
			Number.POSITIVE_INFINITY,
			Number.NEGATIVE_INFINITY,
			MAX_TIMER_MS,
			MAX_TIMER_MS + 1,
			Number.MAX_SAFE_INTEGER,
			Number.EPSILON,
			-1,
			// Rates a timer cannot pace (1000 / rate > 2^31-1 ms), and the smallest it can.
			Number.MIN_VALUE,
			nextDouble(MIN_RATE, -1),
			MIN_RATE,
			nextDouble(MIN_RATE, 1),
			Number.MAX_VALUE,
		),
	},
	{ weight: 1, arbitrary: junk },
);

/** An optional field: mostly absent, sometimes a plausible value, sometimes junk. */
const field = <T>(plausible: fc.Arbitrary<T>) =>
	fc.option(fc.oneof({ weight: 5, arbitrary: plausible }, { weight: 1, arbitrary: junk }), { nil: undefined, freq: 2 });

const validStore = fc.constant({
	consumeRestart: async () => ({ allowed: true, retryAfterMs: 0 }),
	addPending: async () => 1,
	removePending: async () => {},
	countPending: async () => 0,
});
const brokenStore = fc.record({
	consumeRestart: fc.oneof(
		fc.constant(async () => ({ allowed: true, retryAfterMs: 0 })),
		junk,
	),
	addPending: fc.oneof(
		fc.constant(async () => 1),
		junk,
	),
	removePending: fc.constant(async () => {}),
	countPending: fc.oneof(
		fc.constant(async () => 0),
		junk,
	),
});
const action = fc.constantFrom('deny', 'allow', 'Deny', '');

/** Policy-shaped objects: every known option, sometimes an unknown or misspelt one. */
const policyLike = fc
	.record(
		{
			connectTimeoutMs: field(numberish),
			disconnectGraceMs: field(numberish),
			inactivityTimeoutMs: field(numberish),
			signalingGraceMs: field(numberish),
			maxPendingPerUser: field(numberish),
			liveness: field(
				fc.record(
					{ maxStatsRequestsPerSecond: field(numberish), pollIntervalMs: field(numberish), pollIntervalMS: field(numberish) },
					{ requiredKeys: [] },
				),
			),
			iceRestart: field(
				fc.record(
					{
						requireConnectedOnce: field(fc.boolean()),
						reconnectTimeoutMs: field(numberish),
						perUser: field(
							fc.oneof(
								fc.constant(false),
								fc.constant(true),
								fc.record(
									{ limit: field(numberish), windowMs: field(numberish), window: field(numberish) },
									{ requiredKeys: [] },
								),
							),
						),
					},
					{ requiredKeys: [] },
				),
			),
			userId: field(fc.constant((transport: { id: string }) => transport.id)),
			store: field(fc.oneof(validStore, brokenStore)),
			onStoreError: field(fc.oneof(action, fc.record({ restart: field(action), pending: field(action) }, { requiredKeys: [] }))),
			connectTimeout: field(numberish),
		},
		{ requiredKeys: [] },
	)
	// fc.record with an optional key may still write `key: undefined`; keep those (JS callers do too).
	.map((bag) => bag as Record<string, unknown>);

const validDuration = (min = 0, finite = false) =>
	fc.oneof(
		fc.integer({ min, max: 600_000 }),
		fc.constantFrom(...(finite ? [MAX_TIMER_MS] : [MAX_TIMER_MS, Number.POSITIVE_INFINITY])),
	);
const optional = <T>(arbitrary: fc.Arbitrary<T>) => fc.option(arbitrary, { nil: undefined });

/** Policies the documented rules accept (the oracle still judges each one). */
const validPolicyLike = fc
	.record(
		{
			connectTimeoutMs: optional(validDuration(1)),
			disconnectGraceMs: optional(validDuration()),
			inactivityTimeoutMs: optional(validDuration()),
			signalingGraceMs: optional(validDuration()),
			maxPendingPerUser: optional(fc.oneof(fc.nat(20), fc.constant(Number.POSITIVE_INFINITY))),
			liveness: optional(
				fc.record(
					{
						maxStatsRequestsPerSecond: optional(fc.double({ min: MIN_RATE, max: 1e6, noNaN: true })),
						pollIntervalMs: optional(validDuration(1, true)),
					},
					{ requiredKeys: [] },
				),
			),
			iceRestart: optional(
				fc.record(
					{
						requireConnectedOnce: optional(fc.boolean()),
						reconnectTimeoutMs: optional(validDuration()),
						perUser: optional(
							fc.oneof(
								fc.constant(false as const),
								fc.record(
									{
										limit: optional(fc.oneof(fc.integer({ min: 1, max: 50 }), fc.constant(Number.POSITIVE_INFINITY))),
										windowMs: optional(validDuration(1, true)),
									},
									{ requiredKeys: [] },
								),
							),
						),
					},
					{ requiredKeys: [] },
				),
			),
			onStoreError: optional(
				fc.oneof(
					fc.constantFrom('deny', 'allow'),
					fc.record(
						{ restart: optional(fc.constantFrom('deny', 'allow')), pending: optional(fc.constantFrom('deny', 'allow')) },
						{ requiredKeys: [] },
					),
				),
			),
		},
		{ requiredKeys: [] },
	)
	.map((bag) => bag as Record<string, unknown>);

/* ------------------------------------------------------------------ checks of a result */

function assertDeepFrozen(value: unknown, path = 'policy'): void {
	if (typeof value !== 'object' || value === null) return;
	if (!Object.isFrozen(value)) throw new Error(`${path} is not frozen`);
	for (const [key, child] of Object.entries(value)) {
		if (key === 'store') continue; // the user's own object, passed through untouched
		assertDeepFrozen(child, `${path}.${key}`);
	}
}

const isDuration = (ms: number, min = 0): boolean => ms === Number.POSITIVE_INFINITY || (ms >= min && ms <= MAX_TIMER_MS);

/** What every resolved policy satisfies, whatever went in. */
function assertValidPolicy(policy: WatchdogPolicy): void {
	assertDeepFrozen(policy);
	expect(definePolicy(policy)).toBe(policy);
	expect(isDuration(policy.connectTimeoutMs, 1)).toBe(true);
	expect(isDuration(policy.disconnectGraceMs)).toBe(true);
	expect(isDuration(policy.inactivityTimeoutMs)).toBe(true);
	expect(isDuration(policy.signalingGraceMs)).toBe(true);
	expect(isDuration(policy.iceRestart.reconnectTimeoutMs)).toBe(true);
	const { pollIntervalMs, maxStatsRequestsPerSecond } = policy.liveness;
	expect(Number.isFinite(pollIntervalMs) && pollIntervalMs >= 1 && pollIntervalMs <= MAX_TIMER_MS).toBe(true);
	expect(Number.isFinite(maxStatsRequestsPerSecond) && maxStatsRequestsPerSecond > 0).toBe(true);
	expect(typeof policy.iceRestart.requireConnectedOnce).toBe('boolean');
	const { perUser } = policy.iceRestart;
	if (perUser !== false) {
		expect(Number.isInteger(perUser.limit) && perUser.limit >= 1).toBe(true);
		expect(Number.isFinite(perUser.windowMs) && perUser.windowMs >= 1 && perUser.windowMs <= MAX_TIMER_MS).toBe(true);
	}
	const pending = policy.maxPendingPerUser;
	expect(pending === Number.POSITIVE_INFINITY || (Number.isInteger(pending) && pending >= 0)).toBe(true);
	expect(typeof policy.userId).toBe('function');
	expect(['deny', 'allow']).toContain(policy.onStoreError.restart);
	expect(['deny', 'allow']).toContain(policy.onStoreError.pending);
}

/** A thrown error is documented: exactly TypeError or RangeError, naming an option in backticks. */
function assertDocumentedError(error: unknown): asserts error is TypeError | RangeError {
	expect(error).toBeInstanceOf(Error);
	const ctor = (error as Error).constructor;
	expect(ctor === TypeError || ctor === RangeError, `unexpected ${String(error)}`).toBe(true);
	expect((error as Error).message).toMatch(/`[^`]*`/);
}

function attempt<T>(fn: () => T): { value: T } | { error: unknown } {
	try {
		return { value: fn() };
	} catch (error) {
		return { error };
	}
}

/* ------------------------------------------------------------------ properties */

describe('definePolicy() under arbitrary input', () => {
	it('accepts exactly the objects the documented rules accept, and refuses the rest with the documented error naming a bad option', async () => {
		let accepted = 0;
		let refused = 0;
		const run = await checkProperty(
			fc.property(fc.oneof(policyLike, validPolicyLike), (input) => {
				const failures = expectedFailures(input);
				const outcome = attempt(() => definePolicy(input as WatchdogPolicyOptions));
				if ('value' in outcome) {
					expect(failures, `accepted ${String(Object.keys(input))} though the rules refuse it`).toEqual([]);
					assertValidPolicy(outcome.value);
					// Given values come through unchanged; absent ones are the defaults.
					for (const key of [
						'connectTimeoutMs',
						'disconnectGraceMs',
						'inactivityTimeoutMs',
						'signalingGraceMs',
						'maxPendingPerUser',
					] as const) {
						expect(Object.is(outcome.value[key], input[key] ?? DEFAULT_POLICY[key])).toBe(true);
					}
					accepted += 1;
					return;
				}
				assertDocumentedError(outcome.error);
				expect(failures.length, `refused with ${String(outcome.error)} though the rules accept it`).toBeGreaterThan(0);
				const error = outcome.error as Error;
				const matching = failures.filter((failure) => !failure.ok && error.constructor === failure.error);
				expect(matching.length, `${error.constructor.name} is none of the expected errors`).toBeGreaterThan(0);
				const named = matching.some((failure) => !failure.ok && error.message.includes(`\`${failure.name}\``));
				expect(named, `"${error.message}" names none of ${failures.map((f) => (f.ok ? '' : f.name)).join(', ')}`).toBe(true);
				refused += 1;
			}),
			{ numRuns: RUNS },
		);
		// Both sides were really exercised (a replayed path is one run: nothing to count then).
		if (run.replaying) return;
		const total = run.seeds.length * run.runsPerSeed;
		expect(accepted).toBeGreaterThan(total / 20);
		expect(refused).toBeGreaterThan(total / 20);
	});

	it('answers any value at all (fc.anything) with a valid frozen policy or a documented TypeError/RangeError', async () => {
		await checkProperty(
			fc.property(
				fc.anything({ withBigInt: true, withMap: true, withSet: true, withDate: true, withTypedArray: true }),
				(input) => {
					const outcome = attempt(() => definePolicy(input as WatchdogPolicyOptions));
					if ('value' in outcome) assertValidPolicy(outcome.value);
					else assertDocumentedError(outcome.error);
				},
			),
			{ numRuns: RUNS },
		);
	});
});

/* ------------------------------------------------------------------ watch options and method arguments */

const watchOptionsLike = fc.oneof(
	fc.constant(undefined),
	fc.anything({ maxDepth: 1 }),
	fc.record(
		{
			userId: fc.oneof(fc.string({ maxLength: 4 }), fc.integer(), junk),
			signal: fc.oneof(fc.constant(new AbortController().signal), fc.constant(AbortSignal.abort()), junk),
			worker: fc.oneof(fc.constant({ died: false }), fc.constant({ died: true }), junk),
		},
		{ requiredKeys: [] },
	),
);

describe('watch() under arbitrary options', () => {
	it('returns a working watch or throws a documented TypeError, and a refused watch leaves nothing on the transport or in the watchdog', async () => {
		const clock = new ManualClock();
		const watchdog = createWatchdog({ connectTimeoutMs: 1_000, inactivityTimeoutMs: Number.POSITIVE_INFINITY }, { clock });
		let refused = 0;
		const run = await checkProperty(
			fc.asyncProperty(watchOptionsLike, fc.option(fc.string({ maxLength: 3 }), { nil: undefined }), async (options, appUser) => {
				const transport = new FakeWebRtcTransport({ appData: appUser === undefined ? {} : { userId: appUser } });
				const outcome = attempt(() => watchdog.watch(transport, options as WatchOptions));
				if ('error' in outcome) {
					assertDocumentedError(outcome.error);
					expect(listenerTotal(transport)).toBe(0);
					expect(watchdog.get(transport.id)).toBeUndefined();
					refused += 1;
					return;
				}
				const watch = outcome.value;
				expect(['connecting', 'stopped']).toContain(watch.state);
				expect(watch.userId === undefined || typeof watch.userId === 'string').toBe(true);
				watch.close();
				await flushJobs(1);
				expect(['app', 'stopped', 'pending-limit']).toContain(watch.closeReason);
				expect(listenerTotal(transport)).toBe(0);
			}),
			{ numRuns: 500 },
		);
		if (!run.replaying) expect(refused).toBeGreaterThan(0);
		expect(clock.pending()).toBe(0);
		expect(watchdog.snapshot().transports).toEqual({ connecting: 0, connected: 0, disconnected: 0, restarting: 0 });
	});

	it('watchTransport() answers any policy and options with a watch or a documented error, never half-registering', async () => {
		await checkProperty(
			fc.property(fc.oneof(policyLike, fc.anything({ maxDepth: 1 })), watchOptionsLike, (policy, options) => {
				const transport = new FakeWebRtcTransport({ appData: { userId: 'u' } });
				const outcome = attempt(() => watchTransport(transport, policy as WatchdogPolicyOptions, options as WatchOptions));
				if ('error' in outcome) {
					assertDocumentedError(outcome.error);
					expect(listenerTotal(transport)).toBe(0);
					return;
				}
				outcome.value.stop();
				expect(listenerTotal(transport)).toBe(0);
			}),
			{ numRuns: 500 },
		);
	});
});

describe('watchdog methods under arbitrary arguments', () => {
	it('canCreate, closeUser, watchesOf, get and bindSession answer anything with a result or a documented TypeError', async () => {
		const watchdog = createWatchdog({ inactivityTimeoutMs: Number.POSITIVE_INFINITY }, { clock: new ManualClock() });
		await checkProperty(
			fc.asyncProperty(fc.anything({ maxDepth: 1 }), fc.anything({ maxDepth: 1 }), async (a, b) => {
				const canCreate = await (watchdog.canCreate(a as string) as Promise<boolean>).then(
					(value) => ({ value }),
					(error: unknown) => ({ error }),
				);
				if ('error' in canCreate) assertDocumentedError(canCreate.error);
				else expect(typeof canCreate.value).toBe('boolean');
				const calls: Array<() => unknown> = [
					() => watchdog.closeUser(a as string),
					() => watchdog.watchesOf(a as string),
					() => watchdog.get(a as string),
				];
				for (const call of calls) {
					const outcome = attempt(call);
					if ('error' in outcome) assertDocumentedError(outcome.error);
				}
				const binding = attempt(() => watchdog.bindSession(a as string, b as never));
				if ('error' in binding) assertDocumentedError(binding.error);
				else binding.value.unbind();
			}),
			{ numRuns: 500 },
		);
		watchdog.stop();
	});
});
