// Detection latency of a vanished Chromium under the default policy: real Chromium sending and
// receiving audio+video through mediasoup-client, against the real worker; after a few seconds of
// media the page is closed or the whole browser SIGKILLed (nothing reaches the server either way),
// and the time until each server transport's watch closes with `inactive` is measured.
import type { types } from 'mediasoup';
import { createWatchdog } from '../src/index.js';
import { closeAllChromiumClients, launchChromiumClient } from '../test/helpers/chromium/harness.js';
import { closeWorker, createTestRouter, createTestWebRtcServer, createTestWorker } from '../test/helpers/mediasoup.js';

export interface DetectionTrial {
	readonly trial: number;
	readonly how: 'page.close()' | 'SIGKILL';
	readonly where: 'own ports' | 'WebRtcServer';
	/** Per server transport (send, recv): ms from the vanishing call to the `inactive` close. */
	readonly latenciesMs: readonly number[];
	/** The watch's own detectionMs (from the last growth it saw), per transport. */
	readonly detectionMs: readonly number[];
	readonly reasons: readonly string[];
}

export async function measureDetection(
	trials: number,
	concurrency: number,
	log: (line: string) => void,
): Promise<DetectionTrial[]> {
	const worker = await createTestWorker();
	const results: DetectionTrial[] = [];
	try {
		const router = await createTestRouter(worker);
		const webRtcServer = await createTestWebRtcServer(worker);
		const watchdog = createWatchdog(); // the default policy
		const one = async (trial: number): Promise<DetectionTrial> => {
			const how = trial % 2 === 0 ? 'page.close()' : 'SIGKILL';
			const where = Math.floor(trial / 2) % 2 === 0 ? 'own ports' : 'WebRtcServer';
			const closes: Array<Promise<{ at: number; reason: string; detectionMs: number | null }>> = [];
			const client = await launchChromiumClient(router, {
				appData: { userId: `trial-${trial}` },
				...(where === 'WebRtcServer' ? { webRtcServer: webRtcServer as types.WebRtcServer } : {}),
				onTransport: (transport) => {
					const watch = watchdog.watch(transport, { worker });
					closes.push(
						new Promise((resolve) => {
							watch.on('close', (info) => resolve({ at: performance.now(), reason: info.reason, detectionMs: info.detectionMs }));
						}),
					);
				},
			});
			await client.waitForConnected();
			// Media for 4–6 s: a random phase against the poll schedule.
			await new Promise((resolve) => setTimeout(resolve, 4_000 + Math.random() * 2_000));
			const vanishedAt = performance.now();
			if (how === 'page.close()') await client.closePage();
			else await client.kill();
			const ended = await Promise.all(closes);
			await client.close();
			const result: DetectionTrial = {
				trial: trial + 1,
				how,
				where,
				latenciesMs: ended.map((e) => Math.round(e.at - vanishedAt)),
				detectionMs: ended.map((e) => e.detectionMs ?? Number.NaN),
				reasons: ended.map((e) => e.reason),
			};
			log(`  trial ${result.trial} (${how}, ${where}): ${result.latenciesMs.join(' / ')} ms [${result.reasons.join(', ')}]`);
			return result;
		};
		for (let first = 0; first < trials; first += concurrency) {
			const round = Array.from({ length: Math.min(concurrency, trials - first) }, (_, i) => one(first + i));
			results.push(...(await Promise.all(round)));
		}
		watchdog.stop();
	} finally {
		await closeAllChromiumClients();
		await closeWorker(worker);
	}
	return results;
}
