// Abuse by one user, against the REAL mediasoup 3.12 worker: creating transports in a loop is held
// by the pending cap (never more than `maxPendingPerUser` never-connected transports alive on the
// worker, other users untouched), and calling restartIce() in a loop, one by one or all at once,
// on two DTLS-connected transports (real werift clients) and a never-connected one reaches
// mediasoup exactly as often as the per-user limit allows.
import { describe, expect, it } from 'vitest';
import {
	type IceRestartDeniedError,
	isIceRestartDeniedError,
	type TransportWatch,
	type WatchdogPolicyOptions,
} from '../../src/index.js';
import { createWatchdog } from '../../src/watchdog.js';
import { countingClock, flushJobs, useProcessProblems, within } from '../helpers/leaks.js';
import { createTestTransport, createTestWebRtcServer, type WebRtcTransport } from '../helpers/mediasoup.js';
import { useMediasoup } from '../helpers/mediasoup-fixture.js';
import { closeAllWeriftClients, spawnWeriftClient } from '../helpers/werift/harness.js';

const problems = useProcessProblems();
const sfu = useMediasoup({ closeClients: [closeAllWeriftClients] });

const MAX_PENDING = 4;
const ATTEMPTS = 50;

/** Open transports per user, as the worker sees them (the router's dump), by appData.userId. */
async function openOnWorker(transports: WebRtcTransport[]): Promise<Record<string, number>> {
	const ids = new Set((await sfu.router.dump()).transportIds);
	const counts: Record<string, number> = {};
	for (const transport of transports) {
		if (!ids.has(transport.id)) continue;
		const user = String(transport.appData.userId);
		counts[user] = (counts[user] ?? 0) + 1;
	}
	return counts;
}

describe('one user creating transports in a loop', () => {
	const policy: WatchdogPolicyOptions = { connectTimeoutMs: 1_500, maxPendingPerUser: MAX_PENDING };

	it(`never holds more than ${MAX_PENDING} never-connected transports on the worker, one by one or in a burst, while another user is untouched`, async () => {
		const clock = countingClock();
		const watchdog = createWatchdog(policy, { clock });
		const server = await createTestWebRtcServer(sfu.worker);
		const all: WebRtcTransport[] = [];
		const honest = await createTestTransport(sfu.router, { webRtcServer: server, appData: { userId: 'honest' } });
		all.push(honest);
		const honestWatch = watchdog.watch(honest, { worker: sfu.worker });

		// One by one, never asking canCreate(): each one too many is closed with `pending-limit`.
		const watches: Array<TransportWatch<WebRtcTransport>> = [];
		let mostAlive = 0;
		for (let n = 0; n < ATTEMPTS; n++) {
			const transport = await createTestTransport(sfu.router, { webRtcServer: server, appData: { userId: 'mallory' } });
			all.push(transport);
			watches.push(watchdog.watch(transport, { worker: sfu.worker }));
			await flushJobs(1);
			mostAlive = Math.max(mostAlive, (await openOnWorker(all)).mallory ?? 0);
		}
		// And in a burst: 50 created at once, watched in one tick.
		const burst = await Promise.all(
			Array.from({ length: ATTEMPTS }, () =>
				createTestTransport(sfu.router, { webRtcServer: server, appData: { userId: 'mallory' } }),
			),
		);
		all.push(...burst);
		watches.push(...burst.map((transport) => watchdog.watch(transport, { worker: sfu.worker })));
		await flushJobs(2);

		const reasons: Record<string, number> = {};
		for (const watch of watches) if (watch.closeReason) reasons[watch.closeReason] = (reasons[watch.closeReason] ?? 0) + 1;
		console.info(
			`mallory: ${2 * ATTEMPTS} transports created, at most ${mostAlive} alive one by one; closed: ${JSON.stringify(reasons)}`,
		);
		expect(mostAlive).toBe(MAX_PENDING);
		expect(reasons).toEqual({ 'pending-limit': 2 * ATTEMPTS - MAX_PENDING });
		expect(await openOnWorker(all)).toEqual({ honest: 1, mallory: MAX_PENDING });
		expect(honestWatch.state).toBe('connecting');
		expect(await watchdog.canCreate('mallory')).toBe(false);
		expect(await watchdog.canCreate('honest')).toBe(true);
		const limited = watches.find((watch) => watch.closeReason === 'pending-limit');
		expect((await (limited as TransportWatch<WebRtcTransport>).closed).detail).toBe(
			`user mallory already holds ${MAX_PENDING} never-connected transports (maxPendingPerUser: ${MAX_PENDING}); ask watchdog.canCreate(userId) before creating one`,
		);

		// The deadline frees the slots: the user may create again, and nothing is left.
		await within(Promise.all(watches.map((watch) => watch.closed)), 5_000, 'deadlines');
		await honestWatch.closed;
		expect(await watchdog.canCreate('mallory')).toBe(true);
		expect(await openOnWorker(all)).toEqual({});
		expect(watchdog.snapshot().closes).toEqual({
			'pending-limit': 2 * ATTEMPTS - MAX_PENDING,
			'connect-timeout': MAX_PENDING + 1,
		});
		expect(clock.pending()).toBe(0);
		expect(problems.seen).toEqual([]);
	});

	it(`an app that asks canCreate() first creates exactly ${MAX_PENDING} and closes none`, async () => {
		const watchdog = createWatchdog(policy);
		const watches: Array<TransportWatch<WebRtcTransport>> = [];
		let refused = 0;
		for (let n = 0; n < ATTEMPTS; n++) {
			if (!(await watchdog.canCreate('mallory'))) {
				refused += 1;
				continue;
			}
			const transport = await createTestTransport(sfu.router, { appData: { userId: 'mallory' } });
			watches.push(watchdog.watch(transport, { worker: sfu.worker }));
		}
		await flushJobs(2);
		expect(watches).toHaveLength(MAX_PENDING);
		expect(refused).toBe(ATTEMPTS - MAX_PENDING);
		expect(watches.every((watch) => watch.state === 'connecting')).toBe(true);
		expect(watchdog.snapshot().closes).toEqual({});
		watchdog.stop();
		expect(problems.seen).toEqual([]);
	});
});

describe('one user calling restartIce() in a loop', () => {
	const LIMIT = 2;
	const CALLS = 500;

	it(`reaches mediasoup exactly ${LIMIT} times per window over two connected transports and a never-connected one, however it calls`, async () => {
		const clock = countingClock();
		const watchdog = createWatchdog(
			{
				inactivityTimeoutMs: Number.POSITIVE_INFINITY,
				// Long enough that no granted restart times out during the test.
				iceRestart: { perUser: { limit: LIMIT, windowMs: 60_000 }, reconnectTimeoutMs: 60_000 },
			},
			{ clock },
		);
		const reached = new Map<string, number>();
		const spy = (transport: WebRtcTransport): void => {
			const original = transport.restartIce.bind(transport);
			transport.restartIce = () => {
				reached.set(transport.id, (reached.get(transport.id) ?? 0) + 1);
				return original();
			};
		};
		const connected: Array<TransportWatch<WebRtcTransport>> = [];
		for (let n = 0; n < 2; n++) {
			// Spawned before the watch: the spawn (tsx + werift, over 15 s on 2 busy cores) is the harness's cost, not the client's.
			const peer = await spawnWeriftClient();
			const transport = await createTestTransport(sfu.router, { enableSctp: true, appData: { userId: 'spammer' } });
			spy(transport);
			const watch = watchdog.watch(transport, { worker: sfu.worker });
			const client = await peer.connect({ transport, echo: false });
			await client.waitForConnected();
			expect(watch.state).toBe('connected');
			connected.push(watch);
		}
		const pendingTransport = await createTestTransport(sfu.router, { appData: { userId: 'spammer' } });
		spy(pendingTransport);
		const pending = watchdog.watch(pendingTransport, { worker: sfu.worker });

		const outcomes: Record<string, number> = {};
		const retryAfter: number[] = [];
		const tally = async (request: Promise<unknown>): Promise<void> => {
			try {
				await request;
				outcomes.granted = (outcomes.granted ?? 0) + 1;
			} catch (error) {
				if (!isIceRestartDeniedError(error)) throw error;
				outcomes[error.reason] = (outcomes[error.reason] ?? 0) + 1;
				if (error.reason === 'rate-limited') retryAfter.push((error as IceRestartDeniedError).retryAfterMs as number);
			}
		};
		const targets = [pending, ...connected];
		// The never-connected transport first: refused before the limit is asked, so it spends nothing.
		for (let n = 0; n < CALLS; n++) await tally(targets[n % targets.length]?.restartIce() as Promise<unknown>);
		// Then all at once, on every transport.
		await Promise.all(
			Array.from({ length: CALLS }, (_, n) => tally(targets[n % targets.length]?.restartIce() as Promise<unknown>)),
		);

		const total = Object.values(outcomes).reduce((a, b) => a + b, 0);
		console.info(
			`restartIce() ×${total}: ${JSON.stringify(outcomes)}; mediasoup reached ${[...reached.values()].reduce((a, b) => a + b, 0)} times`,
		);
		expect(total).toBe(2 * CALLS);
		expect([...reached.values()].reduce((a, b) => a + b, 0)).toBe(LIMIT);
		expect(reached.get(pendingTransport.id)).toBeUndefined();
		expect(outcomes.granted).toBe(LIMIT);
		expect(outcomes['never-connected']).toBeGreaterThan(0);
		expect(outcomes['rate-limited']).toBe(total - LIMIT - (outcomes['never-connected'] ?? 0));
		expect(Object.keys(outcomes).sort()).toEqual(['granted', 'never-connected', 'rate-limited']);
		expect(Math.min(...retryAfter)).toBeGreaterThan(50_000);
		expect(Math.max(...retryAfter)).toBeLessThanOrEqual(60_000);
		// Concurrent calls on one watch share one decision: the observer counts decisions, not calls.
		const { restarts } = watchdog.snapshot();
		expect(restarts.granted).toBe(LIMIT);
		expect(restarts.granted + Object.values(restarts.denied).reduce((a, b) => a + (b ?? 0), 0)).toBeLessThanOrEqual(total);

		// Closed: every further call is refused as `closed`, still without reaching mediasoup.
		for (const watch of targets) watch.close();
		await Promise.all(
			Array.from({ length: 100 }, (_, n) => tally(targets[n % targets.length]?.restartIce() as Promise<unknown>)),
		);
		expect(outcomes.closed).toBe(100);
		expect([...reached.values()].reduce((a, b) => a + b, 0)).toBe(LIMIT);
		expect(clock.pending()).toBe(0);
		expect(problems.seen).toEqual([]);
	});
});
