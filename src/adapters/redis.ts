// `mediasoup-watchdog/redis`: per-user restart limits and pending-transport counts kept in Redis,
// so they hold across every SFU node. Built on rate-limiter-flexible's RateLimiterRedis and the
// application's own ioredis client (both optional peer dependencies). The adapter never opens,
// closes or reconfigures a connection: it only sends commands on the client it is given.
import type { Cluster, Redis } from 'ioredis';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { describeValue } from '../checks.js';
import { MAX_TIMER_MS, systemClock, Timeouts } from '../clock.js';
import { isErrorOf, WatchdogError } from '../errors.js';
import { Logger } from '../logger.js';
import type { ConsumeResult, PerUserLimit, TakeoverChannel, WatchdogPolicy, WatchdogStore } from '../types.js';
import { isRedisSubscriber, type RedisSubscriber, RedisTakeover } from './redis-takeover.js';

export type { RedisSubscriber } from './redis-takeover.js';

const logger = new Logger('RedisStore');

/**
 * An ioredis client: a `Redis` (standalone or Sentinel) or a `Cluster`; or a client with the same
 * API, such as iovalkey's `Redis` and `Cluster` (checked by shape, not by class).
 */
export type RedisClient = Redis | Cluster | IoredisCompatibleClient;

/** What the store uses of a client: the part of ioredis's API that iovalkey shares. */
export interface IoredisCompatibleClient {
	readonly status: string;
	defineCommand(name: string, definition: { lua: string; numberOfKeys?: number }): void;
	evalsha(...args: never[]): unknown;
	eval(...args: never[]): unknown;
	multi(...args: never[]): unknown;
	zrem(key: string, ...members: string[]): Promise<number>;
	publish(channel: string, message: string): Promise<number>;
}

/** Options of `createRedisStore()`. */
export interface RedisStoreOptions {
	/**
	 * The application's ioredis client (`new Redis(…)` or `new Redis.Cluster(…)`). The store never
	 * connects, disconnects or reconfigures it; a `lazyConnect` client must be connected by the app.
	 */
	readonly client: RedisClient;
	/**
	 * Prefix of every key the store writes: `<keyPrefix>:restart:<userId>` (a rate-limiter-flexible
	 * counter) and `<keyPrefix>:pending:<userId>` (a sorted set). Give separate limits separate prefixes.
	 * @default 'mediasoup-watchdog'
	 */
	readonly keyPrefix?: string;
	/**
	 * Upper bound of one store operation, in milliseconds. A Redis that accepts the connection but
	 * never answers (paused, partitioned) makes the operation reject after this long, and the
	 * policy's `onStoreError` decides. Must be finite: a restart decision never waits forever.
	 * @default 1_000
	 */
	readonly commandTimeoutMs?: number;
	/**
	 * A second connection for the takeover channel (`store.takeover`): the app's
	 * `client.duplicate()`, connected and reconnected by the app. Subscribed to
	 * `<keyPrefix>:takeover` while a watchdog uses the channel. Without it `store.takeover` is
	 * undefined.
	 */
	readonly subscriber?: RedisSubscriber;
}

/** Which store operation failed. */
export type RedisStoreOperation =
	| 'consumeRestart'
	| 'addPending'
	| 'removePending'
	| 'countPending'
	| 'admitClusterRestart'
	| 'releaseClusterRestart'
	| 'announceTakeover';

/**
 * Why a Redis store operation failed:
 * - `not-ready`: the client is not connected (`client.status` is not `'ready'`); nothing was sent.
 * - `timeout`: no answer within `commandTimeoutMs`.
 * - `command-failed`: Redis or the client returned an error.
 */
export type RedisStoreFailure = 'not-ready' | 'timeout' | 'command-failed';

/**
 * A Redis store operation failed. The watchdog turns it into its `onStoreError` policy (for a
 * restart, by default an `IceRestartDeniedError` with reason `store-unavailable` and this error as
 * its `cause`); it never reaches the application as an unhandled rejection.
 */
export class RedisStoreError extends WatchdogError {
	override name = 'RedisStoreError' as const;
	readonly operation: RedisStoreOperation;
	readonly failure: RedisStoreFailure;
	readonly userId: string;

	constructor(
		details: { operation: RedisStoreOperation; failure: RedisStoreFailure; userId: string; message: string },
		options?: ErrorOptions,
	) {
		super(
			`${details.operation}() failed in Redis [userId:${details.userId}, failure:${details.failure}]: ${details.message}`,
			options,
		);
		this.operation = details.operation;
		this.failure = details.failure;
		this.userId = details.userId;
	}
}

/** True for a `RedisStoreError` (also across ESM/CJS copies, matched by `name`). */
export function isRedisStoreError(error: unknown): error is RedisStoreError {
	return isErrorOf(error, RedisStoreError, 'RedisStoreError');
}

/** The Redis store: a `WatchdogStore` plus what it needs to be told apart. */
export interface RedisStore extends WatchdogStore {
	readonly keyPrefix: string;
	readonly commandTimeoutMs: number;
	/**
	 * The takeover channel over Redis pub/sub (give it as the policy's `takeover`); undefined
	 * without the `subscriber` option.
	 */
	readonly takeover: TakeoverChannel | undefined;
	admitClusterRestart(token: string, limit: number, windowMs: number): Promise<ConsumeResult>;
	releaseClusterRestart(token: string): Promise<void>;
	/** Rejects policies whose restart window is not a whole number of seconds (see `checkPolicy`). */
	checkPolicy(policy: WatchdogPolicy<never>): void;
}

/**
 * Creates a `WatchdogStore` that keeps per-user state in Redis, shared by every SFU node that
 * uses the same Redis and key prefix:
 * - the ICE-restart limit is a rate-limiter-flexible `RateLimiterRedis` (a fixed window that starts
 *   at the user's first restart, like the in-memory store), whose key expires with the window;
 * - never-connected transports are a sorted set per user (member: transport id, score: expiry in
 *   Redis server time), pruned on every write and expiring with its last member.
 *
 * ```ts
 * import Redis from 'ioredis';
 * import { definePolicy } from 'mediasoup-watchdog';
 * import { createRedisStore } from 'mediasoup-watchdog/redis';
 *
 * const redis = new Redis(process.env.REDIS_URL);
 * const policy = definePolicy({ store: createRedisStore({ client: redis }), onStoreError: 'deny' });
 * ```
 */
export function createRedisStore(
	options: RedisStoreOptions & { readonly subscriber: RedisSubscriber },
): RedisStore & { readonly takeover: TakeoverChannel };
export function createRedisStore(options: RedisStoreOptions): RedisStore;
export function createRedisStore(options: RedisStoreOptions): RedisStore {
	return new RedisStoreImpl(options);
}

/* ------------------------------------------------------------------ Lua */

// Each script is defined once per client with ioredis's `defineCommand()` (as fastify-rate-limit's
// RedisStore does), which sends EVALSHA and falls back to EVAL on NOSCRIPT by itself.

// Time comes from the Redis server (TIME), not from each node's clock, so nodes whose clocks
// disagree still agree on what has expired. `replicate_commands` is needed on Redis < 5 for writes
// after TIME and is a no-op since.
const NOW_MS = `if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

/** KEYS[1] pending set, ARGV[1] transport id, ARGV[2] ttl (ms) → live count including this one. */
const ADD_PENDING = `${NOW_MS}
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
redis.call('PEXPIREAT', KEYS[1], last[2])
return redis.call('ZCARD', KEYS[1])`;

/**
 * KEYS[1] the restart-storm log (a sorted set: member a slot's token, score when it was taken, in
 * Redis server time), ARGV[1] token, ARGV[2] limit, ARGV[3] window (ms) → { 1, 0 } when the slot
 * is taken, { 0, ms until the oldest slot leaves the window } when the window is full.
 */
const ADMIT_STORM = `${NOW_MS}
local window = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then
	redis.call('ZADD', KEYS[1], now, ARGV[1])
	redis.call('PEXPIRE', KEYS[1], window)
	return { 1, 0 }
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return { 0, tonumber(oldest[2]) + window - now }`;

/** KEYS[1] pending set → live count. */
const COUNT_PENDING = `${NOW_MS}
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
return redis.call('ZCARD', KEYS[1])`;

/**
 * The commands `defineCommand()` adds to the client. Named for this package, so they cannot clash
 * with the application's own; defining them again (a second store on the same client) replaces
 * them with the same script.
 */
const ADD_PENDING_COMMAND = 'mediasoupWatchdogAddPending';
const COUNT_PENDING_COMMAND = 'mediasoupWatchdogCountPending';
const ADMIT_STORM_COMMAND = 'mediasoupWatchdogAdmitStorm';

/** The client once the store's commands are defined on it. */
type ScriptedClient = RedisClient & {
	[ADD_PENDING_COMMAND](key: string, transportId: string, ttlMs: string): Promise<unknown>;
	[COUNT_PENDING_COMMAND](key: string): Promise<unknown>;
	[ADMIT_STORM_COMMAND](key: string, token: string, limit: string, windowMs: string): Promise<unknown>;
};

/* ------------------------------------------------------------------ store */

const DEFAULT_KEY_PREFIX = 'mediasoup-watchdog';
const DEFAULT_COMMAND_TIMEOUT_MS = 1_000;

class RedisStoreImpl implements RedisStore {
	readonly keyPrefix: string;
	readonly commandTimeoutMs: number;
	readonly takeover: TakeoverChannel | undefined;
	readonly #client: ScriptedClient;
	readonly #timeouts = new Timeouts(systemClock);
	/** One limiter per (limit, window): rate-limiter-flexible fixes both at construction. */
	readonly #limiters = new Map<string, RateLimiterRedis>();

	constructor(options: RedisStoreOptions) {
		if (typeof options !== 'object' || options === null) {
			throw new TypeError(`\`options\` must be an object, got ${describeValue(options)}`);
		}
		const known = ['client', 'keyPrefix', 'commandTimeoutMs', 'subscriber'];
		for (const key of Object.keys(options)) {
			if (!known.includes(key)) throw new TypeError(`unknown option \`${key}\` (valid: ${known.join(', ')})`);
		}
		const client = checkClient(options.client);
		const { keyPrefix = DEFAULT_KEY_PREFIX, commandTimeoutMs = DEFAULT_COMMAND_TIMEOUT_MS } = options;
		if (typeof keyPrefix !== 'string') throw new TypeError(`\`keyPrefix\` must be a string, got ${describeValue(keyPrefix)}`);
		if (typeof commandTimeoutMs !== 'number') {
			throw new TypeError(`\`commandTimeoutMs\` must be a number, got ${describeValue(commandTimeoutMs)}`);
		}
		if (!(commandTimeoutMs >= 1 && commandTimeoutMs <= MAX_TIMER_MS)) {
			throw new RangeError(
				`\`commandTimeoutMs\` must be between 1 and ${MAX_TIMER_MS} ms, got ${describeValue(commandTimeoutMs)}`,
			);
		}
		this.keyPrefix = keyPrefix;
		this.commandTimeoutMs = commandTimeoutMs;
		client.defineCommand(ADD_PENDING_COMMAND, { numberOfKeys: 1, lua: ADD_PENDING });
		client.defineCommand(COUNT_PENDING_COMMAND, { numberOfKeys: 1, lua: COUNT_PENDING });
		client.defineCommand(ADMIT_STORM_COMMAND, { numberOfKeys: 1, lua: ADMIT_STORM });
		this.#client = client as ScriptedClient;
		const { subscriber } = options;
		if (subscriber !== undefined && !isRedisSubscriber(subscriber)) {
			throw new TypeError(
				`\`subscriber\` must be a second ioredis connection (\`client.duplicate()\`) with subscribe, unsubscribe, on and off, got ${describeValue(subscriber, { className: true })}`,
			);
		}
		if (subscriber === client) {
			throw new TypeError(
				'`subscriber` must be a connection of its own (`client.duplicate()`), not `client`: a subscribed connection can send no other command',
			);
		}
		this.takeover = subscriber
			? new RedisTakeover(this.#key('takeover'), subscriber, (userId, message) =>
					this.#run('announceTakeover', userId, false, async () => {
						await this.#client.publish(this.#key('takeover'), message);
					}),
				)
			: undefined;
	}

	/**
	 * rate-limiter-flexible counts a window in whole seconds (`duration`, floored; under one second
	 * the key would get no expiry at all), so a restart window must be a whole number of seconds.
	 * `definePolicy()` calls this, so a bad policy fails where it is written.
	 */
	checkPolicy(policy: WatchdogPolicy<never>): void {
		const perUser = policy.iceRestart.perUser;
		if (perUser === false) return;
		if (!Number.isInteger(perUser.windowMs / 1_000) || perUser.windowMs < 1_000) {
			throw new RangeError(
				`\`iceRestart.perUser.windowMs\` must be a whole number of seconds (a multiple of 1000, at least 1000) with the Redis store, whose rate-limiter-flexible windows count whole seconds; got ${describeValue(perUser.windowMs)}`,
			);
		}
	}

	consumeRestart(userId: string, limit: PerUserLimit): Promise<ConsumeResult> {
		return this.#run('consumeRestart', userId, false, async () => {
			try {
				await this.#limiter(limit).consume(userId, 1);
				return { allowed: true, retryAfterMs: 0 };
			} catch (rejection) {
				// rate-limiter-flexible rejects with a plain RateLimiterRes when the limit is hit,
				// and with an Error when Redis fails.
				if (isRateLimiterRes(rejection)) {
					return { allowed: false, retryAfterMs: Math.max(0, Math.ceil(rejection.msBeforeNext)) };
				}
				throw rejection;
			}
		});
	}

	addPending(userId: string, transportId: string, ttlMs: number): Promise<number> {
		const ttl = Math.max(1, Math.ceil(Math.min(ttlMs, Number.MAX_SAFE_INTEGER)));
		return this.#run('addPending', userId, false, async () =>
			Number(await this.#client[ADD_PENDING_COMMAND](this.#key('pending', userId), transportId, String(ttl))),
		);
	}

	removePending(userId: string, transportId: string): Promise<void> {
		// Sent even while disconnected: a client with an offline queue delivers the removal once Redis is
		// back (it is idempotent), and the expiry cleans up if it is lost.
		return this.#run('removePending', userId, true, async () => {
			await this.#client.zrem(this.#key('pending', userId), transportId);
		});
	}

	countPending(userId: string): Promise<number> {
		return this.#run('countPending', userId, false, async () =>
			Number(await this.#client[COUNT_PENDING_COMMAND](this.#key('pending', userId))),
		);
	}

	admitClusterRestart(token: string, limit: number, windowMs: number): Promise<ConsumeResult> {
		return this.#run('admitClusterRestart', '*', false, async () => {
			const reply = (await this.#client[ADMIT_STORM_COMMAND](
				this.#key('storm'),
				token,
				String(limit),
				String(Math.ceil(windowMs)),
			)) as [unknown, unknown];
			const allowed = Number(reply[0]) === 1;
			return { allowed, retryAfterMs: allowed ? 0 : Math.max(0, Number(reply[1])) };
		});
	}

	releaseClusterRestart(token: string): Promise<void> {
		return this.#run('releaseClusterRestart', '*', true, async () => {
			await this.#client.zrem(this.#key('storm'), token);
		});
	}

	/* ---------------------------------------------------------------- internals */

	/** One key per script and command, so each stays in one hash slot of a Cluster (docs/redis.md). */
	#key(kind: 'restart' | 'pending' | 'storm' | 'takeover', userId?: string): string {
		const name = userId === undefined ? kind : `${kind}:${userId}`;
		return this.keyPrefix ? `${this.keyPrefix}:${name}` : name;
	}

	#limiter({ limit, windowMs }: PerUserLimit): RateLimiterRedis {
		const id = `${limit}/${windowMs}`;
		let limiter = this.#limiters.get(id);
		if (!limiter) {
			limiter = new RateLimiterRedis({
				storeClient: this.#client,
				keyPrefix: this.keyPrefix ? `${this.keyPrefix}:restart` : 'restart',
				points: limit,
				duration: Math.ceil(windowMs / 1_000),
				// Fail at once rather than wait in ioredis's offline queue while disconnected.
				rejectIfRedisNotReady: true,
			});
			this.#limiters.set(id, limiter);
		}
		return limiter;
	}

	/**
	 * Runs one operation, bounded by `commandTimeoutMs`, and turns every failure into a
	 * `RedisStoreError`. A command abandoned by the timeout may still settle later; p-timeout drops
	 * its outcome, never an unhandled rejection.
	 */
	#run<T>(operation: RedisStoreOperation, userId: string, whileDisconnected: boolean, body: () => Promise<T>): Promise<T> {
		const status = this.#client.status;
		if (!whileDisconnected && status !== 'ready') {
			const hint = status === 'wait' ? ' (a lazyConnect client: the application must call connect())' : '';
			const error = new RedisStoreError({
				operation,
				userId,
				failure: 'not-ready',
				message: `the Redis client is not ready (status:${status})${hint}`,
			});
			logger.debug('%s() [userId:%s]: %s', operation, userId, error.message);
			return Promise.reject(error);
		}
		const attempt = body().then(undefined, (cause: unknown) => {
			throw isRedisStoreError(cause)
				? cause
				: new RedisStoreError({ operation, userId, failure: failureOf(cause), message: messageOf(cause) }, { cause });
		});
		// p-timeout drops what the abandoned command answers later (a late rejection included).
		return this.#timeouts.limit(attempt, this.commandTimeoutMs, () => {
			logger.warn('%s() timed out [userId:%s, commandTimeoutMs:%d]', operation, userId, this.commandTimeoutMs);
			return new RedisStoreError({
				operation,
				userId,
				failure: 'timeout',
				message: `no answer within ${this.commandTimeoutMs} ms (client status:${this.#client.status})`,
			});
		});
	}
}

/* ------------------------------------------------------------------ helpers */

function checkClient(client: unknown): RedisClient {
	const methods = ['evalsha', 'eval', 'zrem', 'multi', 'defineCommand', 'publish'];
	const missing =
		typeof client === 'object' && client !== null
			? methods.filter((name) => typeof (client as Record<string, unknown>)[name] !== 'function')
			: methods;
	if (missing.length > 0 || typeof (client as { status?: unknown }).status !== 'string') {
		throw new TypeError(
			`\`client\` must be an ioredis client (new Redis(…) or new Redis.Cluster(…), from ioredis or iovalkey), got ${describeValue(client, { className: true })}${missing.length > 0 ? ` without ${missing.join(', ')}` : ''}`,
		);
	}
	return client as RedisClient;
}

function isRateLimiterRes(value: unknown): value is RateLimiterRes {
	return (
		value instanceof RateLimiterRes ||
		(typeof value === 'object' &&
			value !== null &&
			!(value instanceof Error) &&
			typeof (value as { msBeforeNext?: unknown }).msBeforeNext === 'number')
	);
}

function failureOf(cause: unknown): RedisStoreFailure {
	// rate-limiter-flexible's own check of `client.status` (rejectIfRedisNotReady).
	return cause instanceof Error && cause.message === 'Redis connection is not ready' ? 'not-ready' : 'command-failed';
}

function messageOf(cause: unknown): string {
	return cause instanceof Error ? cause.message : String(cause);
}
