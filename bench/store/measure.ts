// What the store section measures, per store (memory, one redis-server, a three-master Redis
// Cluster): restartIce() gate decisions through a watchdog on fake transports (the per-user limit
// in the store; once with the restart-storm breaker's cluster window too), and pending-slot
// add + remove pairs straight on the store. Each one at a time for the latency (p50/p99 of single
// calls) and with `CONCURRENCY` in flight for the throughput.
import type { WatchableTransport, WatchdogPolicyOptions, WatchdogStore } from '../../src/index.js';
import { createWatchdog } from '../../src/watchdog.js';
import { createFakeTransport, type FakeWebRtcTransport } from '../../test/helpers/fake-transport.js';

export const CONCURRENCY = 32;

export interface OperationFigures {
	readonly operation: string;
	/** Completed operations per second with CONCURRENCY in flight. */
	readonly perSecond: number;
	/** Single calls, one at a time (ms). */
	readonly p50Ms: number;
	readonly p99Ms: number;
	readonly samples: number;
}

function percentile(sorted: readonly number[], p: number): number {
	if (sorted.length === 0) return Number.NaN;
	return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

/** Latency of `count` calls one at a time, then throughput of `count` calls CONCURRENCY at a time. */
async function measure(operation: string, count: number, call: (i: number) => Promise<unknown>): Promise<OperationFigures> {
	const latencies: number[] = [];
	for (let i = 0; i < count; i++) {
		const started = performance.now();
		await call(i);
		latencies.push(performance.now() - started);
	}
	latencies.sort((a, b) => a - b);
	let next = count;
	const end = 2 * count;
	const started = performance.now();
	await Promise.all(
		Array.from({ length: CONCURRENCY }, async () => {
			while (next < end) await call(next++);
		}),
	);
	const seconds = (performance.now() - started) / 1_000;
	return {
		operation,
		perSecond: count / seconds,
		p50Ms: percentile(latencies, 50),
		p99Ms: percentile(latencies, 99),
		samples: count,
	};
}

/**
 * restartIce() on `2 × count` users' transports (one each, connected): the user's first call is
 * granted, so every call is one full gate decision (per-user window; storm window when `storm`).
 */
async function gateDecisions(store: WatchdogStore, count: number, storm: boolean, tag: string): Promise<OperationFigures> {
	const policy: WatchdogPolicyOptions = {
		store,
		connectTimeoutMs: Number.POSITIVE_INFINITY,
		inactivityTimeoutMs: Number.POSITIVE_INFINITY,
		maxPendingPerUser: Number.POSITIVE_INFINITY,
		iceRestart: {
			perUser: { limit: 1, windowMs: 60_000 },
			reconnectTimeoutMs: Number.POSITIVE_INFINITY,
			// A window no run fills: every decision pays the breaker's store round trip and is granted.
			...(storm ? { storm: { cluster: 1_000_000, windowMs: 1_000 } } : {}),
		},
	};
	const watchdog = createWatchdog(policy);
	try {
		const watches = Array.from({ length: 2 * count }, (_, i) => {
			const { transport } = createFakeTransport({ appData: { userId: `${tag}-${i}` } });
			const watch = watchdog.watch(transport as FakeWebRtcTransport<Record<string, unknown>> & WatchableTransport);
			transport.connectClient();
			return watch;
		});
		return await measure(storm ? 'restartIce() decision, storm breaker on' : 'restartIce() decision', count, async (i) => {
			await watches[i]?.restartIce();
		});
	} finally {
		watchdog.stop();
	}
}

async function pendingPairs(store: WatchdogStore, count: number, tag: string): Promise<OperationFigures> {
	return measure('pending slot add + remove', count, async (i) => {
		await store.addPending(`${tag}-p${i % 64}`, `t${i}`, 30_000);
		await store.removePending(`${tag}-p${i % 64}`, `t${i}`);
	});
}

/** Every operation on one store. `tag` keeps users apart between runs on one Redis. */
export async function measureStore(store: WatchdogStore, count: number, tag: string): Promise<OperationFigures[]> {
	return [
		await gateDecisions(store, count, false, `${tag}-gate`),
		await gateDecisions(store, count, true, `${tag}-storm`),
		await pendingPairs(store, count, tag),
	];
}
