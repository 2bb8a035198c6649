// No false positives: healthy real clients of every quiet kind stay `connected` for over two
// minutes under the default policy, against the real mediasoup 3.12 worker — Chromium sending and
// receiving media (own ports), Chromium receive-only with its consumers paused (WebRtcServer: RTCP
// only), Chromium DataChannel-only and idle (own ports: consent counted; WebRtcServer: consent
// not counted, SCTP every ~30 s), and werift DataChannel-only and idle (own port and WebRtcServer,
// one consent check every ~5 s). All run side by side in one test to keep the file near 2.5 min.
import { describe, expect, it } from 'vitest';
import type { TransportWatch } from '../../src/index.js';
import { closeAllChromiumClients, launchChromiumClient } from '../helpers/chromium/harness.js';
import { IDLE_LANE_SETUP_BUDGET_MS } from '../helpers/idle-lane.js';
import { createTestTransport, type WebRtcTransport } from '../helpers/mediasoup.js';
import { useMediasoup } from '../helpers/mediasoup-fixture.js';
import { closeAllWeriftClients, spawnWeriftClient } from '../helpers/werift/harness.js';

const HEALTHY_FOR_MS = 125_000;
// Starting the clients (four Chromiums one after the other, then two werift peers) takes about a
// minute with the idle lane's other files alongside, over 75 s with a CPU hog as well (a 200 s
// bound in all was missed): IDLE_LANE_SETUP_BUDGET_MS on top of the window. (Started side by side,
// the Chromiums were slow enough under a hog that the default 15 s connect deadline closed one:
// they start one after the other.)

const sfu = useMediasoup({
	webRtcServer: true,
	watchdog: {}, // the default policy
	closeClients: [
		async () => {
			await Promise.all([closeAllChromiumClients(), closeAllWeriftClients()]);
		},
	],
});

describe('healthy clients under the default policy', () => {
	it(
		'keeps every healthy Chromium and werift transport connected for over two minutes, judged and never closed',
		async () => {
			const watched = new Map<string, TransportWatch>();
			const watchAs = (name: string) => (transport: WebRtcTransport) => {
				watched.set(name, sfu.watchdog.watch(transport, { worker: sfu.worker, userId: name.split(' ')[0] ?? name }));
			};

			// Chromium sending and receiving audio+video on its own ports.
			const media = await launchChromiumClient(sfu.router, {
				onTransport: (t, direction) => watchAs(`media ${direction} (own ports)`)(t),
			});
			await media.waitForConnected();
			// Chromium receive-only on a WebRtcServer, consuming the first one's media, then paused.
			const receiver = await launchChromiumClient(sfu.router, {
				webRtcServer: sfu.webRtcServer,
				transports: 'recv',
				consume: media.producers,
				onTransport: (t) => watchAs('receiver recv, consumers paused (WebRtcServer)')(t),
			});
			await receiver.waitForConnected();
			// Let RTP reach it first, so it counts as a transport that carried media (judged on inbound
			// bytes only), not as one that never did.
			const receiverTransport = receiver.transport('recv');
			const rtpDeadline = performance.now() + 10_000;
			while (((await receiverTransport.getStats())[0]?.rtpBytesSent ?? 0) === 0) {
				if (performance.now() > rtpDeadline) throw new Error('no RTP reached the receiver within 10 s');
				await new Promise((resolve) => setTimeout(resolve, 100));
			}
			for (const consumer of receiver.consumers) await consumer.pause();
			// Chromium with one idle DataChannel, on its own ports and on a WebRtcServer.
			const dataOwn = await launchChromiumClient(sfu.router, {
				produce: false,
				data: true,
				onTransport: (t, direction) => watchAs(`data ${direction} idle (own ports)`)(t),
			});
			await dataOwn.waitForConnected();
			const dataServer = await launchChromiumClient(sfu.router, {
				webRtcServer: sfu.webRtcServer,
				produce: false,
				data: true,
				onTransport: (t, direction) => watchAs(`data ${direction} idle (WebRtcServer)`)(t),
			});
			await dataServer.waitForConnected();
			// werift, DataChannel only and idle, on its own port and on a WebRtcServer.
			for (const [name, onServer] of [
				['werift idle (own port)', false],
				['werift idle (WebRtcServer)', true],
			] as const) {
				// Spawned before its transport is watched: the spawn (tsx + werift, over 15 s on 2 busy
				// cores) is the harness's cost, which the default 15 s connect deadline must not count.
				const peer = await spawnWeriftClient();
				const transport = await createTestTransport(sfu.router, {
					enableSctp: true,
					...(onServer ? { webRtcServer: sfu.webRtcServer } : {}),
				});
				watchAs(name)(transport);
				const client = await peer.connect({ transport });
				await client.waitForConnected();
			}

			expect(watched.size).toBe(9);
			const states = (): Record<string, string> => Object.fromEntries([...watched].map(([name, w]) => [name, w.state]));
			const allConnected = Object.fromEntries([...watched.keys()].map((name) => [name, 'connected']));
			expect(states()).toEqual(allConnected);

			const started = performance.now();
			while (performance.now() - started < HEALTHY_FOR_MS) {
				await new Promise((resolve) => setTimeout(resolve, 5_000));
				expect(states(), `after ${Math.round((performance.now() - started) / 1000)} s`).toEqual(allConnected);
			}

			const { liveness, closes, transports } = sfu.watchdog.snapshot();
			expect(closes).toEqual({});
			expect(transports.connected).toBe(9);
			// Every transport was polled and none is left unjudged; the six that never carried RTP are
			// judged on the worker's consent replies too.
			const shown = JSON.stringify(liveness);
			expect(liveness, shown).toMatchObject({ tracked: 9, unjudged: 0, stalled: 0, statsErrors: 0, echo: 6 });
			expect(liveness.slowCadence, shown).toBeGreaterThanOrEqual(1); // werift's 5 s cadence earns a longer bound
		},
		IDLE_LANE_SETUP_BUDGET_MS + HEALTHY_FOR_MS,
	);
});
