// No false closes for Firefox ESR: healthy idle Firefox users (mediasoup-client's Firefox120
// handler, headless over WebDriver BiDi) stay `connected` for over 60 s under the default policy,
// against the real worker of this run (3.12.16 or 3.27.1, whose own consent check stays on at its
// default 30 s: Firefox sends consent every ~5 s), each on its own port and on a WebRtcServer:
//   - DataChannel-only, idle;
//   - receive-only with nothing consumed (its only consumer closed by the server);
//   - receive-only consuming a producer that never sends (a DirectTransport producer);
//   - a microphone muted without telling the server (mediasoup-client `producer.pause()` with
//     `zeroRtpOnPause`: no RTP at all, the server producer never paused).
// All eight are tabs of one Firefox and judged side by side in one ~65 s window. The worker runs in
// a network namespace of the test's own (Firefox never pairs with a 127.0.0.1 candidate). The test
// prints, per case, the inbound gaps it measured and the bound a shadow judge learned from them.
import { describe, expect, it } from 'vitest';
import type { CloseInfo, TransportWatch } from '../../src/index.js';
import { type FirefoxClient, type FirefoxClientOptions, launchFirefoxClients } from '../helpers/firefox/harness.js';
import {
	createDirectSilentProducer,
	type ProbeReport,
	probeTransport,
	type TransportProbe,
	useFirefoxSfu,
} from '../helpers/firefox/sfu.js';
import { IDLE_LANE_SETUP_BUDGET_MS } from '../helpers/idle-lane.js';
import { workerLabel } from '../helpers/mediasoup.js';

const IDLE_FOR_MS = 65_000;

const sfu = useFirefoxSfu(); // the default policy

type Kind = 'data' | 'recv, nothing consumed' | 'recv, silent producer' | 'mic muted (zeroRtpOnPause)';

interface Case {
	name: string;
	client: FirefoxClient;
	watch: TransportWatch;
	probe: TransportProbe;
	closed?: { at: number; info: CloseInfo };
}

describe(`healthy idle Firefox ESR users under the default policy (${workerLabel})`, () => {
	it(
		'keeps DataChannel-only, receive-only (nothing consumed; a silent producer consumed) and muted-microphone transports connected for 65 s, on their own ports and on a WebRtcServer',
		async () => {
			const silent = await createDirectSilentProducer(sfu.router, 11_111_111);
			const firefox = await launchFirefoxClients();
			console.log(
				`[firefox-healthy] ${workerLabel}: Firefox launched in ${Math.round(firefox.firefox.launchMs)} ms (failed attempts: ${firefox.firefox.failedAttempts}), namespace ${sfu.netns.name} ${sfu.netns.subnet}`,
			);
			const kinds: Array<[Kind, Omit<FirefoxClientOptions, 'address' | 'webRtcServer' | 'onTransport'>]> = [
				['data', { direction: 'send', data: true }],
				['recv, nothing consumed', { direction: 'recv', consume: [silent] }],
				['recv, silent producer', { direction: 'recv', consume: [silent] }],
				['mic muted (zeroRtpOnPause)', { direction: 'send', audio: { zeroRtpOnPause: true } }],
			];
			const cases: Case[] = [];
			for (const onServer of [false, true]) {
				for (const [kind, options] of kinds) {
					const name = `${kind} (${onServer ? 'WebRtcServer' : 'own port'})`;
					let watch: TransportWatch | undefined;
					let probe: TransportProbe | undefined;
					const client = await firefox.open(sfu.router, {
						...options,
						address: sfu.netns.address,
						...(onServer ? { webRtcServer: sfu.webRtcServer } : {}),
						onTransport: (transport) => {
							watch = sfu.watchdog.watch(transport, { worker: sfu.worker, userId: name });
							probe = probeTransport(transport);
						},
					});
					if (!watch || !probe) throw new Error('onTransport was not called');
					const entry: Case = { name, client, watch, probe };
					watch.on('close', (info) => {
						entry.closed = { at: performance.now(), info };
					});
					cases.push(entry);
				}
			}
			await Promise.all(cases.map((c) => c.client.waitForConnected()));
			expect(cases.map((c) => c.watch.state)).toEqual(cases.map(() => 'connected'));

			// The muted microphones: RTP flowed first (so the transport carried media), then
			// mediasoup-client pauses the producer in the page only; the server is never told.
			for (const c of cases.filter((x) => x.name.startsWith('mic muted'))) {
				const producer = c.client.producers[0];
				if (!producer) throw new Error(`${c.name}: no producer`);
				const rtpDeadline = performance.now() + 10_000;
				while (((await c.client.transport.getStats())[0]?.rtpBytesReceived ?? 0) === 0) {
					if (performance.now() > rtpDeadline) throw new Error(`${c.name}: no RTP within 10 s`);
					await new Promise((resolve) => setTimeout(resolve, 100));
				}
				await c.client.pauseProducerInPage(producer.id);
				expect(producer.paused, c.name).toBe(false);
			}
			// Nothing consumed: the server closes the receiver's only consumer (as when the producer's
			// owner leaves); the page keeps its transport.
			for (const c of cases.filter((x) => x.name.startsWith('recv, nothing consumed'))) {
				for (const consumer of c.client.consumers) consumer.close();
			}

			const idleFrom = performance.now();
			await new Promise((resolve) => setTimeout(resolve, IDLE_FOR_MS));

			const reports: Array<{ case: string } & ProbeReport & Record<string, unknown>> = [];
			for (const c of cases) {
				const [stats] = await c.client.transport.getStats();
				const dump = await c.client.transport.dump();
				reports.push({
					case: c.name,
					...c.probe.stop(idleFrom),
					idleMs: Math.round(performance.now() - idleFrom),
					watchState: c.watch.state,
					iceState: c.client.transport.iceState,
					rtpBytesReceived: stats?.rtpBytesReceived ?? 0,
					producers: dump.producerIds.length,
					consumers: dump.consumerIds.length,
					closed: c.closed
						? {
								reason: c.closed.info.reason,
								atMs: Math.round(c.closed.at - idleFrom),
								detail: c.closed.info.detail,
								detectionMs: c.closed.info.detectionMs,
							}
						: null,
				});
			}
			for (const line of reports) console.log(`[firefox-healthy] ${workerLabel} ${JSON.stringify(line)}`);
			console.log(`[firefox-healthy] ${workerLabel} snapshot.liveness ${JSON.stringify(sfu.watchdog.snapshot().liveness)}`);

			// The cases are what they say: nothing consumed has no consumer, the silent producer's
			// receiver still has its consumer, the muted microphone's producer is still there.
			const shape = Object.fromEntries(reports.map((r) => [r.case, `${r.producers}p/${r.consumers}c`]));
			expect(shape).toEqual(
				Object.fromEntries(
					cases.map((c) => [c.name, c.name.startsWith('recv, silent') ? '0p/1c' : c.name.startsWith('mic') ? '1p/0c' : '0p/0c']),
				),
			);
			// What the user expects: every healthy Firefox user is still connected, none was closed.
			expect(Object.fromEntries(reports.map((r) => [r.case, r.closed]))).toEqual(
				Object.fromEntries(cases.map((c) => [c.name, null])),
			);
			expect(Object.fromEntries(reports.map((r) => [r.case, r.watchState]))).toEqual(
				Object.fromEntries(cases.map((c) => [c.name, 'connected'])),
			);
			// And the worker's own view agrees (on 3.27 its consent check is on at 30 s).
			const iceUp = (state: unknown): string => (state === 'connected' || state === 'completed' ? 'up' : String(state));
			expect(Object.fromEntries(reports.map((r) => [r.case, iceUp(r.iceState)]))).toEqual(
				Object.fromEntries(cases.map((c) => [c.name, 'up'])),
			);
		},
		IDLE_LANE_SETUP_BUDGET_MS + IDLE_FOR_MS + 20_000,
	); // one Firefox, eight tabs; 20 s for the checks and the report
});
