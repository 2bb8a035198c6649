import { boolean, closest, count, describeValue as describe, duration, perSecond, plainObject } from './checks.js';
import { checkClusterStore, resolveStorm, STORM_KEYS } from './gate/storm-policy.js';
import { takeoverOption } from './gate/takeover.js';
import type {
	PerUserLimit,
	StoreErrorAction,
	WatchableTransport,
	WatchdogPolicy,
	WatchdogPolicyOptions,
	WatchdogStore,
} from './types.js';

/** The user id a transport carries by default: `appData.userId` when it is a string or a number. */
export function defaultUserId(transport: WatchableTransport<unknown>): string | number | undefined {
	const appData = transport.appData as { userId?: unknown } | undefined;
	const id = appData?.userId;
	return typeof id === 'string' || typeof id === 'number' ? id : undefined;
}

/** Every default in one place. */
export const DEFAULT_POLICY: WatchdogPolicy = Object.freeze({
	connectTimeoutMs: 15_000,
	disconnectGraceMs: 15_000,
	inactivityTimeoutMs: 8_000,
	liveness: Object.freeze({ maxStatsRequestsPerSecond: 200, pollIntervalMs: 2_000 }),
	iceRestart: Object.freeze({
		requireConnectedOnce: true,
		perUser: Object.freeze({ limit: 1, windowMs: 20_000 }),
		reconnectTimeoutMs: 10_000,
		storm: false,
	}),
	maxPendingPerUser: 4,
	signalingGraceMs: 10_000,
	userId: defaultUserId,
	store: undefined,
	onStoreError: Object.freeze({ restart: 'deny', pending: 'allow' } as const),
	takeover: false,
});

const KNOWN_KEYS: Record<string, readonly string[]> = {
	'': [
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
		'takeover',
	],
	liveness: ['maxStatsRequestsPerSecond', 'pollIntervalMs'],
	iceRestart: ['requireConnectedOnce', 'perUser', 'reconnectTimeoutMs', 'storm'],
	'iceRestart.storm': STORM_KEYS,
	'iceRestart.perUser': ['limit', 'windowMs'],
	onStoreError: ['restart', 'pending'],
};

const resolvedPolicies = new WeakSet<object>();

/** True when `value` came out of `definePolicy()` (already validated and frozen). */
export function isResolvedPolicy(value: unknown): value is WatchdogPolicy {
	return typeof value === 'object' && value !== null && resolvedPolicies.has(value);
}

/**
 * Validates `options`, fills in defaults and returns a frozen policy to share across transports.
 * Throws `TypeError` for a wrong type or an unknown option, `RangeError` for a value out of range;
 * messages name the option, the value and its type.
 */
export function definePolicy<TransportAppData = Record<string, unknown>>(
	options: WatchdogPolicyOptions<TransportAppData> | WatchdogPolicy<TransportAppData> = {},
): WatchdogPolicy<TransportAppData> {
	if (isResolvedPolicy(options)) return options as unknown as WatchdogPolicy<TransportAppData>;
	const input = plainObject(options, 'policy');
	checkKeys(input, '');
	const d = DEFAULT_POLICY;
	const liveness = optionalObject(input.liveness, 'liveness');
	const iceRestart = optionalObject(input.iceRestart, 'iceRestart');
	const perUser = resolvePerUser(iceRestart?.perUser);
	const maxStatsRequestsPerSecond = perSecond(
		liveness?.maxStatsRequestsPerSecond,
		'liveness.maxStatsRequestsPerSecond',
		d.liveness.maxStatsRequestsPerSecond,
	);
	const policy: WatchdogPolicy<TransportAppData> = {
		// 0 would time out every transport (and mediasoup users read 0 as "off"): Infinity is off.
		connectTimeoutMs: duration(input.connectTimeoutMs, 'connectTimeoutMs', d.connectTimeoutMs, { min: 1 }),
		disconnectGraceMs: duration(input.disconnectGraceMs, 'disconnectGraceMs', d.disconnectGraceMs),
		inactivityTimeoutMs: duration(input.inactivityTimeoutMs, 'inactivityTimeoutMs', d.inactivityTimeoutMs),
		liveness: Object.freeze({
			maxStatsRequestsPerSecond,
			pollIntervalMs: duration(liveness?.pollIntervalMs, 'liveness.pollIntervalMs', d.liveness.pollIntervalMs, {
				min: 1,
				finite: true,
			}),
		}),
		iceRestart: Object.freeze({
			requireConnectedOnce: boolean(
				iceRestart?.requireConnectedOnce,
				'iceRestart.requireConnectedOnce',
				d.iceRestart.requireConnectedOnce,
			),
			perUser,
			reconnectTimeoutMs: duration(
				iceRestart?.reconnectTimeoutMs,
				'iceRestart.reconnectTimeoutMs',
				d.iceRestart.reconnectTimeoutMs,
			),
			storm: resolveStorm(iceRestart?.storm, (bag) => checkKeys(bag, 'iceRestart.storm')),
		}),
		maxPendingPerUser: count(input.maxPendingPerUser, 'maxPendingPerUser', d.maxPendingPerUser),
		signalingGraceMs: duration(input.signalingGraceMs, 'signalingGraceMs', d.signalingGraceMs),
		userId: userIdFunction(input.userId) as WatchdogPolicy<TransportAppData>['userId'],
		store: storeOption(input.store),
		onStoreError: storeErrorOption(input.onStoreError),
		takeover: takeoverOption(input.takeover, 'takeover' in input),
	};
	Object.freeze(policy);
	if (policy.iceRestart.storm && policy.iceRestart.storm.cluster !== Number.POSITIVE_INFINITY) {
		checkClusterStore(policy.store);
	}
	policy.store?.checkPolicy?.(policy);
	resolvedPolicies.add(policy);
	return policy;
}

/* ------------------------------------------------------------------ validators */

type Bag = Record<string, unknown>;

function optionalObject(value: unknown, name: string): Bag | undefined {
	if (value === undefined) return undefined;
	const bag = plainObject(value, name);
	checkKeys(bag, name);
	return bag;
}

function checkKeys(bag: Bag, path: string): void {
	const known = KNOWN_KEYS[path] ?? [];
	for (const key of Object.keys(bag)) {
		if (known.includes(key)) continue;
		const name = path ? `${path}.${key}` : key;
		const suggestion = closest(key, known);
		const hint = suggestion ? `; did you mean \`${path ? `${path}.` : ''}${suggestion}\`?` : '';
		throw new TypeError(`unknown option \`${name}\` set to ${describe(bag[key])}${hint} (valid: ${known.join(', ')})`);
	}
}

function resolvePerUser(value: unknown): PerUserLimit | false {
	const fallback = DEFAULT_POLICY.iceRestart.perUser;
	if (value === undefined) return fallback;
	if (value === false) return false;
	if (typeof value !== 'object' || value === null || Array.isArray(value)) {
		throw new TypeError(`\`iceRestart.perUser\` must be an object or false, got ${describe(value)}`);
	}
	const bag = plainObject(value, 'iceRestart.perUser');
	checkKeys(bag, 'iceRestart.perUser');
	const limit = count(bag.limit, 'iceRestart.perUser.limit', fallback ? fallback.limit : 1, 1);
	const windowMs = duration(bag.windowMs, 'iceRestart.perUser.windowMs', fallback ? fallback.windowMs : 20_000, {
		min: 1,
		finite: true,
	});
	if (limit === Number.POSITIVE_INFINITY) return false;
	return Object.freeze({ limit, windowMs });
}

function userIdFunction(value: unknown): WatchdogPolicy['userId'] {
	if (value === undefined) return defaultUserId;
	if (typeof value !== 'function') throw new TypeError(`\`userId\` must be a function, got ${describe(value)}`);
	return value as WatchdogPolicy['userId'];
}

function storeOption(value: unknown): WatchdogStore | undefined {
	if (value === undefined) return undefined;
	const bag = plainObject(value, 'store');
	for (const method of ['consumeRestart', 'addPending', 'removePending', 'countPending']) {
		if (typeof bag[method] !== 'function') {
			throw new TypeError(`\`store\` must implement WatchdogStore: \`store.${method}\` is ${describe(bag[method])}`);
		}
	}
	return value as WatchdogStore;
}

function storeErrorAction(value: unknown, name: string, fallback: StoreErrorAction): StoreErrorAction {
	if (value === undefined) return fallback;
	if (value !== 'deny' && value !== 'allow') {
		throw new TypeError(`\`${name}\` must be 'deny' or 'allow', got ${describe(value)}`);
	}
	return value;
}

function storeErrorOption(value: unknown): WatchdogPolicy['onStoreError'] {
	const d = DEFAULT_POLICY.onStoreError;
	if (value === undefined) return d;
	if (typeof value === 'string') {
		const action = storeErrorAction(value, 'onStoreError', d.restart);
		return Object.freeze({ restart: action, pending: action });
	}
	const bag = optionalObject(value, 'onStoreError') ?? {};
	return Object.freeze({
		restart: storeErrorAction(bag.restart, 'onStoreError.restart', d.restart),
		pending: storeErrorAction(bag.pending, 'onStoreError.pending', d.pending),
	});
}
