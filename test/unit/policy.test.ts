// definePolicy(): defaults in one place, a frozen result, and bad input refused at the call with
// a message that names the option, the value and its type.
import { describe, expect, it } from 'vitest';
import { MAX_TIMER_MS } from '../../src/clock.js';
import { DEFAULT_POLICY, definePolicy, type WatchdogPolicyOptions, type WatchdogStore } from '../../src/index.js';

/** Calls definePolicy with input the types forbid, as plain JavaScript callers can. */
const defineUnchecked = (options: unknown) => definePolicy(options as WatchdogPolicyOptions);

/** The error definePolicy throws for `options` (fails the test when it does not throw). */
function errorOf(options: unknown): Error {
	try {
		defineUnchecked(options);
	} catch (error) {
		return error as Error;
	}
	throw new Error(`definePolicy(${JSON.stringify(options)}) did not throw`);
}

const DURATIONS = [
	['connectTimeoutMs', (v: unknown) => ({ connectTimeoutMs: v })],
	['disconnectGraceMs', (v: unknown) => ({ disconnectGraceMs: v })],
	['inactivityTimeoutMs', (v: unknown) => ({ inactivityTimeoutMs: v })],
	['signalingGraceMs', (v: unknown) => ({ signalingGraceMs: v })],
	['iceRestart.reconnectTimeoutMs', (v: unknown) => ({ iceRestart: { reconnectTimeoutMs: v } })],
] as const;

const FINITE_DURATIONS = [
	['liveness.pollIntervalMs', (v: unknown) => ({ liveness: { pollIntervalMs: v } })],
	['iceRestart.perUser.windowMs', (v: unknown) => ({ iceRestart: { perUser: { windowMs: v } } })],
] as const;

const read = (policy: object, path: string): unknown =>
	path.split('.').reduce<unknown>((value, key) => (value as Record<string, unknown>)[key], policy);

describe('definePolicy defaults', () => {
	it('defaults to a 15 s first-connect deadline and a 15 s disconnect grace', () => {
		const policy = definePolicy();
		expect(policy.connectTimeoutMs).toBe(15_000);
		expect(policy.disconnectGraceMs).toBe(15_000);
	});

	it('fills every option from DEFAULT_POLICY, the one place defaults live, when called without options', () => {
		const policy = definePolicy();
		expect(policy).toEqual(DEFAULT_POLICY);
		expect(Object.keys(policy).sort()).toEqual(Object.keys(DEFAULT_POLICY).sort());
		expect(policy.userId).toBe(DEFAULT_POLICY.userId);
		expect(policy.store).toBeUndefined();
	});

	it('reads the user id from appData.userId by default, as a string or a number only', () => {
		const { userId } = definePolicy();
		const transport = (appData: unknown) => ({ appData }) as Parameters<typeof userId>[0];
		expect(userId(transport({ userId: 'alice' }))).toBe('alice');
		expect(userId(transport({ userId: 42 }))).toBe(42);
		expect(userId(transport({ userId: { name: 'alice' } }))).toBeUndefined();
		expect(userId(transport({}))).toBeUndefined();
		expect(userId(transport(undefined))).toBeUndefined();
	});

	it('keeps the defaults of the options it is not given, also inside nested groups', () => {
		const policy = definePolicy({
			connectTimeoutMs: 3_000,
			iceRestart: { perUser: { limit: 3 } },
			liveness: { pollIntervalMs: 500 },
			onStoreError: { pending: 'deny' },
		});
		expect(policy.connectTimeoutMs).toBe(3_000);
		expect(policy.disconnectGraceMs).toBe(DEFAULT_POLICY.disconnectGraceMs);
		const d = DEFAULT_POLICY;
		expect(policy.iceRestart).toEqual({
			requireConnectedOnce: d.iceRestart.requireConnectedOnce,
			perUser: { limit: 3, windowMs: d.iceRestart.perUser ? d.iceRestart.perUser.windowMs : Number.NaN },
			reconnectTimeoutMs: d.iceRestart.reconnectTimeoutMs,
			storm: false,
		});
		expect(policy.liveness).toEqual({ ...d.liveness, pollIntervalMs: 500 });
		expect(policy.onStoreError).toEqual({ restart: d.onStoreError.restart, pending: 'deny' });
	});

	it('returns a deeply frozen policy that later changes to the input cannot reach', () => {
		const input = { connectTimeoutMs: 1_000, iceRestart: { perUser: { limit: 2, windowMs: 5_000 } } };
		const policy = definePolicy(input);
		input.connectTimeoutMs = 99;
		input.iceRestart.perUser.limit = 99;
		expect(policy.connectTimeoutMs).toBe(1_000);
		expect(policy.iceRestart.perUser).toEqual({ limit: 2, windowMs: 5_000 });
		expect(Object.isFrozen(policy)).toBe(true);
		expect(Object.isFrozen(policy.liveness)).toBe(true);
		expect(Object.isFrozen(policy.iceRestart)).toBe(true);
		expect(Object.isFrozen(policy.iceRestart.perUser)).toBe(true);
		expect(Object.isFrozen(policy.onStoreError)).toBe(true);
		expect(() => {
			(policy as { connectTimeoutMs: number }).connectTimeoutMs = 5;
		}).toThrow(TypeError);
	});

	it('returns a policy unchanged when given one it made, so it can be passed around freely', () => {
		const policy = definePolicy({ connectTimeoutMs: 1_000 });
		expect(definePolicy(policy)).toBe(policy);
	});

	it('accepts the exported DEFAULT_POLICY as options and yields the same values', () => {
		expect(definePolicy(DEFAULT_POLICY)).toEqual(definePolicy());
	});
});

describe('definePolicy durations', () => {
	for (const [name, make] of [...DURATIONS, ...FINITE_DURATIONS]) {
		it(`accepts \`${name}\` up to 2,147,483,647 ms and refuses one more with a RangeError`, () => {
			expect(read(definePolicy(make(MAX_TIMER_MS) as WatchdogPolicyOptions), name)).toBe(MAX_TIMER_MS);
			const error = errorOf(make(MAX_TIMER_MS + 1));
			expect(error).toBeInstanceOf(RangeError);
			expect(error.message).toContain(`\`${name}\``);
			expect(error.message).toContain('2147483648 (number)');
			expect(error.message).toContain('2147483647');
		});

		it(`refuses a negative \`${name}\` with a RangeError naming the option, the value and its type`, () => {
			const error = errorOf(make(-1));
			expect(error).toBeInstanceOf(RangeError);
			expect(error.message).toMatch(new RegExp(`^\`${name.replaceAll('.', '\\.')}\` must be between .* got -1 \\(number\\)$`));
		});

		it(`refuses a NaN \`${name}\` with a RangeError`, () => {
			const error = errorOf(make(Number.NaN));
			expect(error).toBeInstanceOf(RangeError);
			expect(error.message).toContain(`\`${name}\``);
			expect(error.message).toContain('NaN (number)');
		});

		it(`refuses \`${name}\` of the wrong type with a TypeError naming the value and its type`, () => {
			for (const [value, shown] of [
				['15000', '"15000" (string)'],
				[null, 'null (null)'],
				[true, 'true (boolean)'],
				[15_000n, '15000n (bigint)'],
				[{ ms: 1 }, '[object] (object)'],
			] as const) {
				const error = errorOf(make(value));
				expect(error).toBeInstanceOf(TypeError);
				expect(error.message).toBe(`\`${name}\` must be a number, got ${shown}`);
			}
		});

		it(`refuses -Infinity for \`${name}\``, () => {
			const error = errorOf(make(Number.NEGATIVE_INFINITY));
			expect(error).toBeInstanceOf(RangeError);
			expect(error.message).toContain('-Infinity (number)');
		});
	}

	for (const [name, make] of DURATIONS) {
		it(`takes Infinity for \`${name}\` to mean "off"`, () => {
			expect(read(definePolicy(make(Number.POSITIVE_INFINITY) as WatchdogPolicyOptions), name)).toBe(Number.POSITIVE_INFINITY);
		});
	}

	for (const [name, make] of FINITE_DURATIONS) {
		it(`refuses Infinity for \`${name}\`, which has no "off"`, () => {
			const error = errorOf(make(Number.POSITIVE_INFINITY));
			expect(error).toBeInstanceOf(RangeError);
			expect(error.message).toContain(`\`${name}\``);
			expect(error.message).not.toContain('Infinity to turn it off');
		});
	}

	it('accepts 0 for the graces, meaning "close at once"', () => {
		expect(definePolicy({ disconnectGraceMs: 0 }).disconnectGraceMs).toBe(0);
		expect(definePolicy({ signalingGraceMs: 0 }).signalingGraceMs).toBe(0);
	});

	it('refuses a connectTimeoutMs of 0 and says that Infinity, not 0, turns the deadline off', () => {
		const error = errorOf({ connectTimeoutMs: 0 });
		expect(error).toBeInstanceOf(RangeError);
		expect(error.message).toContain('`connectTimeoutMs`');
		expect(error.message).toContain('0 (number)');
		expect(error.message).toContain('Infinity');
		expect(definePolicy({ connectTimeoutMs: 1 }).connectTimeoutMs).toBe(1);
	});

	it('accepts fractional milliseconds', () => {
		expect(definePolicy({ disconnectGraceMs: 1.5 }).disconnectGraceMs).toBe(1.5);
	});
});

describe('definePolicy counts and switches', () => {
	it('refuses a per-user restart limit below 1 or not whole, and turns it off with Infinity or false', () => {
		for (const limit of [0, -1, 1.5]) {
			const error = errorOf({ iceRestart: { perUser: { limit } } });
			expect(error).toBeInstanceOf(RangeError);
			expect(error.message).toContain('`iceRestart.perUser.limit`');
			expect(error.message).toContain(`${limit} (number)`);
		}
		expect(definePolicy({ iceRestart: { perUser: { limit: Number.POSITIVE_INFINITY } } }).iceRestart.perUser).toBe(false);
		expect(definePolicy({ iceRestart: { perUser: false } }).iceRestart.perUser).toBe(false);
	});

	it('refuses `iceRestart.perUser: true`, which only `false` or an object can be', () => {
		const error = errorOf({ iceRestart: { perUser: true } });
		expect(error).toBeInstanceOf(TypeError);
		expect(error.message).toContain('`iceRestart.perUser`');
		expect(error.message).toContain('true (boolean)');
	});

	it('refuses a negative or fractional maxPendingPerUser and turns the cap off with Infinity', () => {
		for (const value of [-1, 2.5]) {
			const error = errorOf({ maxPendingPerUser: value });
			expect(error).toBeInstanceOf(RangeError);
			expect(error.message).toContain(`\`maxPendingPerUser\` must be a whole number`);
			expect(error.message).toContain(`${value} (number)`);
		}
		expect(definePolicy({ maxPendingPerUser: Number.POSITIVE_INFINITY }).maxPendingPerUser).toBe(Number.POSITIVE_INFINITY);
	});

	it('refuses a stats budget that is not a finite number above 0', () => {
		for (const value of [0, -5, Number.POSITIVE_INFINITY]) {
			const error = errorOf({ liveness: { maxStatsRequestsPerSecond: value } });
			expect(error).toBeInstanceOf(RangeError);
			expect(error.message).toContain('`liveness.maxStatsRequestsPerSecond`');
		}
		expect(errorOf({ liveness: { maxStatsRequestsPerSecond: '10' } })).toBeInstanceOf(TypeError);
	});

	it('refuses a non-boolean requireConnectedOnce with a TypeError', () => {
		const error = errorOf({ iceRestart: { requireConnectedOnce: 'yes' } });
		expect(error).toBeInstanceOf(TypeError);
		expect(error.message).toBe('`iceRestart.requireConnectedOnce` must be a boolean, got "yes" (string)');
	});

	it('refuses a userId that is not a function', () => {
		const error = errorOf({ userId: 'userId' });
		expect(error).toBeInstanceOf(TypeError);
		expect(error.message).toBe('`userId` must be a function, got "userId" (string)');
	});

	it('refuses a store that lacks a WatchdogStore method and names the missing one', () => {
		const store: Partial<WatchdogStore> = {
			consumeRestart: async () => ({ allowed: true, retryAfterMs: 0 }),
			addPending: async () => 1,
			removePending: async () => {},
		};
		const error = errorOf({ store });
		expect(error).toBeInstanceOf(TypeError);
		expect(error.message).toContain('`store.countPending`');
		expect(error.message).toContain('undefined (undefined)');
	});

	it('takes onStoreError as one action for both, or one each, and refuses anything else', () => {
		expect(definePolicy({ onStoreError: 'allow' }).onStoreError).toEqual({ restart: 'allow', pending: 'allow' });
		expect(definePolicy({ onStoreError: { restart: 'allow' } }).onStoreError).toEqual({ restart: 'allow', pending: 'allow' });
		const error = errorOf({ onStoreError: 'ignore' });
		expect(error).toBeInstanceOf(TypeError);
		expect(error.message).toBe("`onStoreError` must be 'deny' or 'allow', got \"ignore\" (string)");
		expect(errorOf({ onStoreError: { restart: 1 } }).message).toContain('`onStoreError.restart`');
	});
});

describe('definePolicy shape errors', () => {
	it('refuses options that are not an object', () => {
		for (const [value, shown] of [
			[null, 'null (null)'],
			[15_000, '15000 (number)'],
			['fast', '"fast" (string)'],
			[[], '[array] (array)'],
		] as const) {
			const error = errorOf(value);
			expect(error).toBeInstanceOf(TypeError);
			expect(error.message).toBe(`\`policy\` must be an object, got ${shown}`);
		}
	});

	it('refuses a group that is not an object and names the group', () => {
		expect(errorOf({ liveness: 5 }).message).toBe('`liveness` must be an object, got 5 (number)');
		expect(errorOf({ iceRestart: null }).message).toBe('`iceRestart` must be an object, got null (null)');
	});

	it('refuses an unknown option and suggests the closest valid one', () => {
		for (const [options, unknown, value, suggestion] of [
			[{ connectTimeout: 1_000 }, 'connectTimeout', '1000 (number)', 'connectTimeoutMs'],
			[{ connecttimeoutms: 1_000 }, 'connecttimeoutms', '1000 (number)', 'connectTimeoutMs'],
			[{ disconnectGrace: 1_000 }, 'disconnectGrace', '1000 (number)', 'disconnectGraceMs'],
			[{ iceRestart: { reconnectTimeout: 1 } }, 'iceRestart.reconnectTimeout', '1 (number)', 'iceRestart.reconnectTimeoutMs'],
			[{ iceRestart: { perUser: { window: 1 } } }, 'iceRestart.perUser.window', '1 (number)', 'iceRestart.perUser.windowMs'],
			[{ liveness: { pollInterval: 1 } }, 'liveness.pollInterval', '1 (number)', 'liveness.pollIntervalMs'],
			[{ onStoreError: { restarts: 'deny' } }, 'onStoreError.restarts', '"deny" (string)', 'onStoreError.restart'],
		] as const) {
			const error = errorOf(options);
			expect(error).toBeInstanceOf(TypeError);
			expect(error.message).toContain(`unknown option \`${unknown}\` set to ${value}; did you mean \`${suggestion}\`?`);
		}
	});

	it('lists the valid options when an unknown one resembles none of them', () => {
		const error = errorOf({ verbose: true });
		expect(error).toBeInstanceOf(TypeError);
		expect(error.message).not.toContain('did you mean');
		expect(error.message).toContain('unknown option `verbose` set to true (boolean)');
		expect(error.message).toContain('connectTimeoutMs, disconnectGraceMs');
	});

	it('checks every option before it returns, so a valid policy never hides a later mistake', () => {
		expect(() => defineUnchecked({ connectTimeoutMs: 1_000, signalingGraceMs: -1 })).toThrow(RangeError);
	});
});
