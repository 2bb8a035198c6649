// Load on the REAL mediasoup 3.12 worker: 1 000 transports on one WebRtcServer, watched at once,
// nobody connects. Every one is closed by its first-connect deadline with `connect-timeout`,
// within deadline + 100 ms of its own watch() (the distribution is printed), and afterwards the
// worker holds no transport, the WebRtcServer no ICE username, the watchdog no timer, listener or
// per-user state.
import { describe, expect, it } from 'vitest';
import type { TransportWatch } from '../../src/index.js';
import type { WatchdogImpl } from '../../src/watchdog.js';
import { createWatchdog } from '../../src/watchdog.js';
import { countingClock, listenersOn, useProcessProblems, within } from '../helpers/leaks.js';
import { createTestTransport, type WebRtcTransport } from '../helpers/mediasoup.js';
import { useMediasoup } from '../helpers/mediasoup-fixture.js';

const TRANSPORTS = 1_000;
const DEADLINE_MS = 2_000;

const problems = useProcessProblems();
const sfu = useMediasoup({ webRtcServer: true });

function percentile(sorted: number[], p: number): number {
	return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

describe('1 000 real transports watched at once on one worker', () => {
	it('are all closed by their deadline with `connect-timeout` within deadline + 100 ms, and nothing is left on the worker or in the watchdog', async () => {
		const createdAt = performance.now();
		const transports: WebRtcTransport[] = [];
		for (let n = 0; n < TRANSPORTS; n += 100) {
			transports.push(
				...(await Promise.all(
					Array.from({ length: 100 }, (_, k) =>
						createTestTransport(sfu.router, { webRtcServer: sfu.webRtcServer, appData: { userId: `user-${n + k}` } }),
					),
				)),
			);
		}
		const createMs = performance.now() - createdAt;
		expect((await sfu.router.dump()).transportIds).toHaveLength(TRANSPORTS);

		const clock = countingClock();
		const watchdog = createWatchdog({ connectTimeoutMs: DEADLINE_MS }, { clock });
		const lateness: number[] = [];
		const reasons: Record<string, number> = {};
		const watches: Array<TransportWatch<WebRtcTransport>> = [];
		const watchedAt = performance.now();
		for (const transport of transports) {
			const startedAt = performance.now();
			const watch = watchdog.watch(transport, { worker: sfu.worker });
			watch.on('close', (info) => {
				lateness.push(performance.now() - startedAt - DEADLINE_MS);
				reasons[info.reason] = (reasons[info.reason] ?? 0) + 1;
			});
			watches.push(watch);
		}
		const watchMs = performance.now() - watchedAt;
		expect(clock.pending()).toBe(TRANSPORTS);
		expect(watchdog.snapshot().transports.connecting).toBe(TRANSPORTS);

		await within(Promise.all(watches.map((watch) => watch.closed)), DEADLINE_MS + 10_000, 'every deadline');
		const sorted = [...lateness].sort((a, b) => a - b);
		const [p50, p99, max, min] = [percentile(sorted, 50), percentile(sorted, 99), sorted.at(-1) as number, sorted[0] as number];
		console.info(
			`${TRANSPORTS} transports: created in ${createMs.toFixed(0)} ms, watched in ${watchMs.toFixed(1)} ms; ` +
				`close after the ${DEADLINE_MS} ms deadline: min ${min.toFixed(1)}, p50 ${p50.toFixed(1)}, p99 ${p99.toFixed(1)}, max ${max.toFixed(1)} ms`,
		);
		expect(reasons).toEqual({ 'connect-timeout': TRANSPORTS });
		expect(min).toBeGreaterThanOrEqual(-1); // timers may fire up to 1 ms early on Node's clock granularity
		expect(max).toBeLessThan(100);

		// Nothing left: every transport closed on the worker, no ICE username on the WebRtcServer,
		// no timer, listener or per-user state in the watchdog.
		for (const transport of transports) expect(transport.closed).toBe(true);
		expect((await sfu.router.dump()).transportIds).toEqual([]);
		const serverDump = (await sfu.webRtcServer.dump()) as unknown as {
			webRtcTransportIds: string[];
			localIceUsernameFragments: unknown[];
		};
		expect(serverDump.webRtcTransportIds).toEqual([]);
		expect(serverDump.localIceUsernameFragments).toEqual([]);
		expect(clock.pending()).toBe(0);
		expect(transports.filter((transport) => Object.keys(listenersOn(transport)).length > 0)).toEqual([]);
		expect(watchdog.snapshot()).toMatchObject({
			transports: { connecting: 0, connected: 0, disconnected: 0, restarting: 0 },
			closes: { 'connect-timeout': TRANSPORTS },
			users: 0,
		});
		expect(((watchdog as unknown as WatchdogImpl<unknown>).store as unknown as { size: number }).size).toBe(0);
		expect(problems.seen).toEqual([]);
	});
});
