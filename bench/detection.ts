// Detection latency of a vanished Chromium under the default policy: real Chromium sending and
// receiving audio+video through mediasoup-client, against the real worker; after a few seconds of
// media the page is closed or the whole browser SIGKILLed (nothing reaches the server either way),
// and the time until each server transport's watch closes with `inactive` is measured.
import type { types } from 'mediasoup';
import { createWatchdog } from '../src/index.js';
import { type ChromiumClient, closeAllChromiumClients, launchChromiumClient } from '../test/helpers/chromium/harness.js';
import { closeWorker, createTestRouter, createTestWebRtcServer, createTestWorker } from '../test/helpers/mediasoup.js';
import { benchFaults } from './faults.js';

/**
 * How long a trial waits for its transports to close once the client has vanished. The default
 * policy closes them within inactivityTimeoutMs + a poll period (10 s); six times that is a hang.
 */
const CLOSE_GUARD_MS = 60_000;

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

/** A trial that gave no measurement (its Chromium did not start or connect, or something hung). */
export interface FailedTrial {
	readonly trial: number;
	readonly how: DetectionTrial['how'];
	readonly where: DetectionTrial['where'];
	readonly error: string;
}

export interface DetectionResult {
	readonly trials: DetectionTrial[];
	readonly failed: FailedTrial[];
}

export async function measureDetection(
	trials: number,
	concurrency: number,
	log: (line: string) => void,
): Promise<DetectionResult> {
	const faults = benchFaults();
	const worker = await createTestWorker();
	const results: DetectionTrial[] = [];
	const failed: FailedTrial[] = [];
	try {
		const router = await createTestRouter(worker);
		const webRtcServer = await createTestWebRtcServer(worker);
		const watchdog = createWatchdog(); // the default policy
		const one = async (trial: number): Promise<DetectionTrial | FailedTrial> => {
			const how = trial % 2 === 0 ? 'page.close()' : 'SIGKILL';
			const where = Math.floor(trial / 2) % 2 === 0 ? 'own ports' : 'WebRtcServer';
			let client: ChromiumClient | undefined;
			try {
				return await measureOne(trial, how, where, (launched) => {
					client = launched;
				});
			} catch (error) {
				const message = error instanceof Error ? error.message : String(error);
				log(`  trial ${trial + 1} (${how}, ${where}): FAILED, skipped: ${message}`);
				await client?.close().catch(() => undefined);
				return { trial: trial + 1, how, where, error: message };
			}
		};
		const measureOne = async (
			trial: number,
			how: DetectionTrial['how'],
			where: DetectionTrial['where'],
			launched: (client: ChromiumClient) => void,
		): Promise<DetectionTrial> => {
			const closes: Array<Promise<{ at: number; reason: string; detectionMs: number | null }>> = [];
			if (trial < faults.chromium) throw new Error('Chromium did not start (BENCH_FAULTS=chromium)');
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
			launched(client);
			await client.waitForConnected();
			// Media for 4–6 s: a random phase against the poll schedule.
			await new Promise((resolve) => setTimeout(resolve, 4_000 + Math.random() * 2_000));
			const vanishedAt = performance.now();
			if (how === 'page.close()') await client.closePage();
			else await client.kill();
			const ended = await guard(Promise.all(closes), CLOSE_GUARD_MS, 'its transports to close after the client vanished');
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
			for (const outcome of await Promise.all(round)) {
				if ('error' in outcome) failed.push(outcome);
				else results.push(outcome);
			}
		}
		watchdog.stop();
	} finally {
		await closeAllChromiumClients();
		await closeWorker(worker);
	}
	return { trials: results, failed };
}

function guard<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
	let timer: NodeJS.Timeout | undefined;
	const timeout = new Promise<never>((_, reject) => {
		timer = setTimeout(() => reject(new Error(`waited ${ms} ms for ${what}`)), ms);
	});
	return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
