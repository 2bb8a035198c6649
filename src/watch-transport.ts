// The front door: `watchTransport(transport, policy)`, the watchdog each policy object gets, and
// the public `createWatchdog(policy)`.
import { Logger } from './logger.js';
import { definePolicy, isResolvedPolicy } from './policy.js';
import type {
	TransportWatch,
	WatchableTransport,
	Watchdog,
	WatchdogPolicy,
	WatchdogPolicyOptions,
	WatchOptions,
} from './types.js';
import { WatchdogImpl } from './watchdog.js';

const logger = new Logger('watchTransport');

/** One watchdog per policy object, so `watchTransport(t, policy)` shares per-user state. */
const watchdogsByPolicy = new WeakMap<object, WatchdogImpl<unknown>>();

/** What `watchTransport(transport)` uses without a policy: one shared default watchdog. */
const NO_POLICY: WatchdogPolicyOptions<unknown> = Object.freeze({});

/**
 * Creates a watchdog: the registry that shares per-user state (restart limits, pending counts,
 * signaling sessions) across the transports it watches.
 */
export function createWatchdog<TransportAppData = Record<string, unknown>>(
	policy: WatchdogPolicy<TransportAppData> | WatchdogPolicyOptions<TransportAppData> = {},
): Watchdog<TransportAppData> {
	return new WatchdogImpl(definePolicy(policy));
}

/**
 * Watches a mediasoup WebRtcTransport: a first-connect deadline, departure detection and gated
 * ICE restarts, each close with a reason. Transports watched with the same policy object share
 * per-user state (calls without a policy share one default).
 */
export function watchTransport<Transport extends WatchableTransport<unknown>>(
	transport: Transport,
	policy?: WatchdogPolicyOptions<Transport['appData']>,
	options?: WatchOptions,
): TransportWatch<Transport>;
export function watchTransport<Transport extends WatchableTransport<unknown>>(
	transport: Transport,
	// biome-ignore lint/suspicious/noExplicitAny: a policy for any appData type may watch this transport
	policy: WatchdogPolicy<any>,
	options?: WatchOptions,
): TransportWatch<Transport>;
export function watchTransport<Transport extends WatchableTransport<unknown>>(
	transport: Transport,
	// Two overloads, not one union: a union of the two `userId` signatures would leave an inline
	// `userId: (transport) => …` without a contextual type (implicit any).
	// biome-ignore lint/suspicious/noExplicitAny: see the overloads
	policy: WatchdogPolicy<any> | WatchdogPolicyOptions<Transport['appData']> = NO_POLICY,
	options?: WatchOptions,
): TransportWatch<Transport> {
	if (typeof policy !== 'object' || policy === null) {
		throw new TypeError(`\`policy\` must be an object, got ${policy === null ? 'null' : typeof policy}`);
	}
	const watchdog = watchdogFor(policy as WatchdogPolicyOptions<unknown>);
	return watchdog.watch(transport as WatchableTransport<unknown>, options) as unknown as TransportWatch<Transport>;
}

/** The watchdog `watchTransport()` uses for a policy object (to reach `closeUser()`, `snapshot()`…). */
export function watchdogFor<TransportAppData>(
	policy: WatchdogPolicy<TransportAppData> | WatchdogPolicyOptions<TransportAppData>,
): Watchdog<TransportAppData> {
	let watchdog = watchdogsByPolicy.get(policy);
	if (!watchdog) {
		watchdog = new WatchdogImpl<unknown>(definePolicy(policy as WatchdogPolicyOptions<unknown>));
		watchdogsByPolicy.set(policy, watchdog);
		warnIfInline(policy, watchdog.policy);
	}
	return watchdog as unknown as Watchdog<TransportAppData>;
}

/**
 * The inline-literal trap: `watchTransport(t, { … })` in a request handler makes a new policy object,
 * hence a new watchdog with its own per-user limits, each call. A policy from `definePolicy()` (or
 * one kept in a constant) is shared. Logged for each watchdog made from a policy object that did not
 * come from `definePolicy()` while per-user limits are on: one line per separate budget, so a
 * handler that falls into the trap shows a line per transport. (No once-per-process flag: that would
 * be process-global state.)
 */
function warnIfInline(input: object, policy: WatchdogPolicy<unknown>): void {
	if (input === NO_POLICY || isResolvedPolicy(input)) return;
	const perUser = policy.iceRestart.perUser !== false || policy.maxPendingPerUser !== Number.POSITIVE_INFINITY;
	if (!perUser) return;
	logger.warn(
		'watchTransport() a policy object not made by definePolicy() gets a watchdog, with per-user limits, of its own: pass the same object every time (definePolicy() once, at module scope), or transports of one user will not share their limits',
	);
}
