// A client that asks for ICE restarts in a loop while its media path is dead (a werift peer frozen
// with SIGSTOP; its signaling, played by the test, keeps asking every 4 s). On mediasoup alone the
// dead transport stays open for ever: 3.12 has no consent check, and on 3.13.20+ each restartIce()
// re-arms the worker's consent timer, so its `iceConsentTimeout` (10 s here) never expires. With
// the watchdog, and the DEFAULT policy, the first granted restart is not followed and the watch
// closes with `restart-timeout` at iceRestart.reconnectTimeoutMs; later requests are denied.
import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY, isIceRestartDeniedError, type TransportWatch } from '../../src/index.js';
import { createWatchdog } from '../../src/watchdog.js';
import { createTestTransport, hasWorkerConsent, type WebRtcTransport, workerLabel } from '../helpers/mediasoup.js';
import { useMediasoup } from '../helpers/mediasoup-fixture.js';
import { closeAllWeriftClients, startWeriftClient } from '../helpers/werift/harness.js';

const sfu = useMediasoup({ closeClients: [closeAllWeriftClients] });

const ASK_EVERY_MS = 4_000;
/** The worker's consent timeout where it has one: shorter than the loop runs, so only the restarts keep it alive. */
const CONSENT_S = 10;
const LOOP_MS = 3 * CONSENT_S * 1_000;
/**
 * Starting the frozen peer (werift's spawn and connect), before anything is measured: seconds idle,
 * over a minute on 2 cores with a CPU hog and other files alongside. The harness's cost, not a
 * verdict: 2 minutes for it on top of the loop and its 30 s of slack.
 */
const START_BUDGET_MS = 120_000;

async function frozenPeer(userId: string): Promise<WebRtcTransport> {
	const transport = await createTestTransport(sfu.router, {
		enableSctp: true,
		appData: { userId },
		...(hasWorkerConsent ? { iceConsentTimeout: CONSENT_S } : {}),
	});
	const client = await startWeriftClient({ transport });
	await client.waitForConnected();
	client.stop(); // SIGSTOP: nothing more reaches the worker
	return transport;
}

/** Asks `restart()` every ASK_EVERY_MS until `untilMs` has passed or `done()` says stop. */
async function askInALoop(restart: () => Promise<unknown>, untilMs: number, done: () => boolean): Promise<number> {
	const start = performance.now();
	let asked = 0;
	while (performance.now() - start < untilMs && !done()) {
		asked += 1;
		await restart().catch(() => undefined);
		await new Promise((resolve) => setTimeout(resolve, ASK_EVERY_MS));
	}
	return asked;
}

describe(`restarts asked in a loop by a dead client (${workerLabel})`, () => {
	it(
		'keep the transport open for ever on mediasoup alone',
		async () => {
			const transport = await frozenPeer('mediasoup-alone');
			const iceStates: string[] = [];
			transport.observer.on('icestatechange', (state: string) => iceStates.push(state));
			const asked = await askInALoop(
				() => transport.restartIce(),
				LOOP_MS,
				() => transport.closed,
			);
			console.info(
				`[restart-loop] ${workerLabel} alone: ${asked} restarts in ${LOOP_MS} ms, ICE states ${JSON.stringify(iceStates)}`,
			);
			expect(asked).toBeGreaterThanOrEqual(LOOP_MS / ASK_EVERY_MS - 1);
			expect(transport.closed).toBe(false);
			expect(iceStates).not.toContain('disconnected');
		},
		START_BUDGET_MS + LOOP_MS + 30_000,
	);

	it(
		'is closed with `restart-timeout` at reconnectTimeoutMs after the first granted restart under the default policy',
		async () => {
			const transport = await frozenPeer('watched');
			const watch: TransportWatch<WebRtcTransport> = createWatchdog().watch(transport);
			const decisions: string[] = [];
			const start = performance.now();
			const asked = await askInALoop(
				async () => {
					try {
						await watch.restartIce();
						decisions.push('granted');
					} catch (error) {
						decisions.push(isIceRestartDeniedError(error) ? `denied:${error.reason}` : `error:${String(error)}`);
					}
				},
				LOOP_MS,
				() => watch.state === 'closed',
			);
			const info = await watch.closed;
			const tookMs = performance.now() - start;
			console.info(
				`[restart-loop] ${workerLabel} watched: ${info.reason} after ${Math.round(tookMs)} ms (${info.detail}); ${asked} asked: ${decisions.join(', ')}`,
			);
			expect(info).toMatchObject({ reason: 'restart-timeout', clean: false, closedByWatchdog: true });
			expect(decisions[0]).toBe('granted');
			// The first restart is asked at once: closed one reconnect deadline later.
			const bound = DEFAULT_POLICY.iceRestart.reconnectTimeoutMs;
			expect(tookMs).toBeGreaterThanOrEqual(bound);
			expect(tookMs).toBeLessThan(bound + ASK_EVERY_MS + 2_000);
			expect(transport.closed).toBe(true);
		},
		START_BUDGET_MS + LOOP_MS + 30_000,
	);
});
