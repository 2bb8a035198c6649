// The restart-storm breaker (`iceRestart.storm`): per-node and cluster-wide sliding windows of
// granted restarts, `storm` denials with a jittered `retryAfterMs`, slots given back when the
// per-user limit refuses, store failures through `onStoreError`, policy validation, and the
// `storm` denial on the observer, in the snapshot and in the Prometheus exporter.
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { registerPrometheusMetrics } from '../../src/adapters/prometheus.js';
import { StormBreaker } from '../../src/gate/storm.js';
import {
	type ConsumeResult,
	definePolicy,
	isIceRestartDeniedError,
	MemoryStore,
	type WatchableTransport,
	type WatchdogObserverEvents,
	type WatchdogPolicyOptions,
	type WatchdogStore,
} from '../../src/index.js';
import { createWatchdog } from '../../src/watchdog.js';
import { createFakeTransport, type FakeWebRtcTransport } from '../helpers/fake-transport.js';
import { fakeTimersClock as clock, flushPromises, useFakeTimers } from '../helpers/manual-clock.js';
import { samples } from '../helpers/prometheus-samples.js';

useFakeTimers({ now: 0 });

const watchdogs: Array<{ stop(): void }> = [];
afterEach(() => {
	for (const watchdog of watchdogs.splice(0)) watchdog.stop();
});

const QUIET: WatchdogPolicyOptions = {
	inactivityTimeoutMs: Number.POSITIVE_INFINITY,
	connectTimeoutMs: Number.POSITIVE_INFINITY,
	maxPendingPerUser: Number.POSITIVE_INFINITY,
};

function setup(overrides: WatchdogPolicyOptions, store: WatchdogStore = new MemoryStore(clock)) {
	const watchdog = createWatchdog({ ...QUIET, store, ...overrides }, { clock });
	watchdogs.push(watchdog);
	const decisions: Array<WatchdogObserverEvents['icerestart']> = [];
	watchdog.observer.on('icerestart', (event) => decisions.push(event));
	const connect = (userId: string) => {
		const { transport } = createFakeTransport({ appData: { userId } });
		const watch = watchdog.watch(transport as FakeWebRtcTransport<Record<string, unknown>> & WatchableTransport);
		transport.connectClient();
		return watch;
	};
	/** restartIce() → 'granted' or the denial's reason and retryAfterMs. */
	const ask = async (userId: string) => {
		try {
			await connect(userId).restartIce();
			return { granted: true as const };
		} catch (error) {
			if (!isIceRestartDeniedError(error)) throw error;
			return { granted: false as const, reason: error.reason, retryAfterMs: error.retryAfterMs };
		}
	};
	return { watchdog, decisions, ask };
}

describe('StormBreaker', () => {
	it('admits perNode slots per sliding window, then refuses with the wait until the oldest leaves plus jitter', async () => {
		let random = 0.5;
		const breaker = new StormBreaker(
			{ perNode: 2, cluster: Number.POSITIVE_INFINITY, windowMs: 1_000, jitterMs: 200 },
			new MemoryStore(clock),
			clock,
			() => random,
		);
		expect((await breaker.admit()).admitted).toBe(true); // t = 0
		await advance(300);
		expect((await breaker.admit()).admitted).toBe(true); // t = 300
		await advance(100);
		expect(await breaker.admit()).toEqual({ admitted: false, retryAfterMs: 600 + 100 }); // oldest leaves at 1 000
		random = 0;
		expect(await breaker.admit()).toEqual({ admitted: false, retryAfterMs: 600 });
		await advance(600); // t = 1 000: the first slot has left the window
		expect((await breaker.admit()).admitted).toBe(true);
		expect((await breaker.admit()).admitted).toBe(false);
	});

	it('gives a slot back with release(), on this node and in the store', async () => {
		const store = new MemoryStore(clock);
		const breaker = new StormBreaker({ perNode: 1, cluster: 1, windowMs: 1_000, jitterMs: 0 }, store, clock);
		const first = await breaker.admit();
		if (!first.admitted) throw new Error('first slot refused');
		expect((await breaker.admit()).admitted).toBe(false);
		breaker.release(first.token);
		await flushPromises();
		expect((await breaker.admit()).admitted).toBe(true);
	});

	it('counts cluster-wide through the store: two breakers on one store share its window', async () => {
		const store = new MemoryStore(clock);
		const limit = { perNode: Number.POSITIVE_INFINITY, cluster: 3, windowMs: 1_000, jitterMs: 0 };
		const a = new StormBreaker(limit, store, clock);
		const b = new StormBreaker(limit, store, clock);
		const outcomes = await Promise.all([a.admit(), b.admit(), a.admit(), b.admit(), a.admit()]);
		expect(outcomes.map((o) => o.admitted)).toEqual([true, true, true, false, false]);
		expect(outcomes[3]).toEqual({ admitted: false, retryAfterMs: 1_000 });
	});
});

describe('iceRestart.storm in the gate', () => {
	it('is off by default: 100 users restart at once', async () => {
		const { ask } = setup({});
		const outcomes = await Promise.all(Array.from({ length: 100 }, (_, i) => ask(`u${i}`)));
		expect(outcomes.every((o) => o.granted)).toBe(true);
	});

	it('grants `cluster` restarts per window and refuses the rest with storm and a retryAfterMs within window + jitter', async () => {
		const { ask, decisions, watchdog } = setup({ iceRestart: { storm: { cluster: 5, windowMs: 1_000, jitterMs: 500 } } });
		const outcomes = await Promise.all(Array.from({ length: 20 }, (_, i) => ask(`u${i}`)));
		expect(outcomes.filter((o) => o.granted)).toHaveLength(5);
		const denied = outcomes.filter((o) => !o.granted);
		expect(denied).toHaveLength(15);
		for (const o of denied) {
			expect(o.reason).toBe('storm');
			expect(o.retryAfterMs).toBeGreaterThanOrEqual(1_000);
			expect(o.retryAfterMs).toBeLessThanOrEqual(1_500);
		}
		expect(new Set(denied.map((o) => o.retryAfterMs)).size).toBeGreaterThan(1); // jittered
		expect(decisions.filter((d) => d.outcome === 'denied' && d.reason === 'storm')).toHaveLength(15);
		expect(watchdog.snapshot().restarts).toEqual({ granted: 5, denied: { storm: 15 } });
	});

	it('does not spend the storm window on a restart the per-user limit refuses', async () => {
		const { ask } = setup({ iceRestart: { perUser: { limit: 1, windowMs: 20_000 }, storm: { perNode: 2 } } });
		expect(await ask('alice')).toEqual({ granted: true });
		expect(await ask('alice')).toMatchObject({ granted: false, reason: 'rate-limited' });
		expect(await ask('alice')).toMatchObject({ granted: false, reason: 'rate-limited' });
		expect(await ask('bob')).toEqual({ granted: true }); // the refused ones gave their slot back
		expect(await ask('carol')).toMatchObject({ granted: false, reason: 'storm' });
	});

	it('follows onStoreError when the store fails to count cluster-wide', async () => {
		const failing = new (class extends MemoryStore {
			override async admitClusterRestart(): Promise<ConsumeResult> {
				throw new Error('redis down');
			}
		})(clock);
		const storm = { cluster: 10 };
		expect(await setup({ iceRestart: { storm } }, failing).ask('a')).toMatchObject({
			granted: false,
			reason: 'store-unavailable',
			retryAfterMs: null,
		});
		expect(await setup({ iceRestart: { storm }, onStoreError: 'allow' }, failing).ask('b')).toEqual({ granted: true });
	});

	it('shows storm denials in the Prometheus exporter (the reason list feeds its labels)', async () => {
		const { ask, watchdog } = setup({ iceRestart: { storm: { perNode: 1 } } });
		const registry = new Registry();
		registerPrometheusMetrics(watchdog, { registry });
		await ask('a');
		await ask('b');
		const scrape = samples(await registry.metrics());
		expect(scrape.get('mediasoup_watchdog_ice_restarts_total{outcome="denied",reason="storm"}')).toBe(1);
		expect(scrape.get('mediasoup_watchdog_ice_restarts_total{outcome="granted"}')).toBe(1);
	});
});

describe('iceRestart.storm validation', () => {
	it.each([
		[{ storm: {} }, RangeError, /`iceRestart.storm` needs a finite `perNode` or `cluster`/],
		[{ storm: 5 }, TypeError, /`iceRestart.storm` must be an object or false, got 5/],
		[{ storm: { perNode: 0 } }, RangeError, /`iceRestart.storm.perNode` must be a whole number ≥ 1.*got 0/],
		[{ storm: { cluster: 2.5 } }, RangeError, /`iceRestart.storm.cluster` must be a whole number ≥ 1.*got 2.5/],
		[{ storm: { perNode: 1, windowMs: 0 } }, RangeError, /`iceRestart.storm.windowMs` must be between 1 and/],
		[{ storm: { perNode: 1, windowMs: Number.POSITIVE_INFINITY } }, RangeError, /`iceRestart.storm.windowMs`/],
		[{ storm: { perNode: 1, jitterMs: -1 } }, RangeError, /`iceRestart.storm.jitterMs` must be between 0 and/],
		[{ storm: { perNod: 1 } }, TypeError, /unknown option `iceRestart.storm.perNod`.*did you mean `iceRestart.storm.perNode`/],
	])('refuses iceRestart %o', (iceRestart, type, message) => {
		expect(() => definePolicy({ iceRestart } as WatchdogPolicyOptions)).toThrow(type);
		expect(() => definePolicy({ iceRestart } as WatchdogPolicyOptions)).toThrow(message);
	});

	it('refuses a finite cluster bound with a store that cannot count cluster-wide, naming the option', () => {
		const store: WatchdogStore = {
			consumeRestart: async () => ({ allowed: true, retryAfterMs: 0 }),
			addPending: async () => 1,
			removePending: async () => {},
			countPending: async () => 0,
		};
		expect(() => definePolicy({ store, iceRestart: { storm: { cluster: 5 } } })).toThrow(
			/`iceRestart.storm.cluster` needs a store that counts restarts cluster-wide: `store.admitClusterRestart` is undefined/,
		);
		expect(definePolicy({ store, iceRestart: { storm: { perNode: 5 } } }).iceRestart.storm).toEqual({
			perNode: 5,
			cluster: Number.POSITIVE_INFINITY,
			windowMs: 1_000,
			jitterMs: 1_000,
		});
	});
});

async function advance(ms: number): Promise<void> {
	await vi.advanceTimersByTimeAsync(ms);
}
