// Measures what a real mediasoup worker sees of idle GStreamer webrtcbin clients: the gaps between
// growths of the transport's bytesReceived (and of bytesSent, which carries the worker's replies),
// sampled every 500 ms, for each kind on its own port and on a WebRtcServer. Not a test: a tool
// whose figures go into the notes. Run under the shared lock:
//
//   flock /tmp/mw-heavy.lock env MEDIASOUP_WORKER_BIN=… node --import tsx test/helpers/gstreamer/measure-gaps.ts [seconds]

import type { types } from 'mediasoup';
import * as mediasoup from 'mediasoup';
import { closeWorker, createTestRouter, createTestTransport, createTestWebRtcServer, createTestWorker } from '../mediasoup.js';
import { closeAllGstreamerClients, type GstreamerClient, startGstreamerClient } from './harness.js';
import { createSilentProducer } from './silent-producer.js';

const SAMPLE_MS = 500;
const seconds = Number(process.argv[2] ?? 70);

interface Trace {
	name: string;
	client: GstreamerClient;
	last?: { in: number; out: number; at: number };
	lastInAt: number;
	lastOutAt: number;
	inGaps: number[];
	outGaps: number[];
}

async function main(): Promise<void> {
	console.log(`mediasoup ${mediasoup.version}, worker ${process.env.MEDIASOUP_WORKER_BIN}`);
	const worker = await createTestWorker();
	const router = await createTestRouter(worker);
	const server = await createTestWebRtcServer(worker);
	const silent = await createSilentProducer(router);
	const traces: Trace[] = [];
	try {
		for (const onServer of [false, true]) {
			const where = onServer ? 'WebRtcServer' : 'own port';
			const make = (enableSctp: boolean) => () =>
				createTestTransport(router, { enableSctp, ...(onServer ? { webRtcServer: server } : {}) });
			const cases: Array<[string, () => Promise<GstreamerClient>]> = [
				['data', () => startGstreamerClient({ kind: 'data', createTransport: make(true) })],
				['recv nothing consumed', () => startGstreamerClient({ kind: 'recv', createTransport: make(false) })],
				[
					'recv silent producer',
					() => startGstreamerClient({ kind: 'recv', createTransport: make(false), consume: silent.producer }),
				],
				[
					'send muted',
					async () => {
						const client = await startGstreamerClient({ kind: 'send', createTransport: make(false) });
						await new Promise((resolve) => setTimeout(resolve, 2_000));
						await client.mute(true);
						return client;
					},
				],
			];
			for (const [kind, start] of cases) {
				const client = await start();
				const t = client.timings;
				console.log(
					`${kind} (${where}): ready ${t.readyMs.toFixed(0)} ms, offer ${t.offerMs.toFixed(0)} ms, connect ${t.connectMs.toFixed(0)} ms, attempts ${t.attempts}`,
				);
				traces.push({ name: `${kind} (${where})`, client, lastInAt: 0, lastOutAt: 0, inGaps: [], outGaps: [] });
			}
		}
		const started = performance.now();
		for (const trace of traces) {
			trace.lastInAt = started;
			trace.lastOutAt = started;
		}
		while (performance.now() - started < seconds * 1000) {
			await new Promise((resolve) => setTimeout(resolve, SAMPLE_MS));
			await Promise.all(traces.map((trace) => sample(trace)));
		}
		for (const trace of traces) {
			const stats = (await trace.client.transport.getStats())[0] as types.WebRtcTransportStat;
			console.log(
				`${trace.name}: state ${trace.client.transport.dtlsState}/${trace.client.transport.iceState}; inbound gaps ms [${trace.inGaps.join(', ')}] (max ${Math.max(0, ...trace.inGaps)}); ` +
					`outbound gaps max ${Math.max(0, ...trace.outGaps)}; bytesReceived ${stats.bytesReceived} rtpBytesReceived ${stats.rtpBytesReceived} bytesSent ${stats.bytesSent}`,
			);
		}
	} finally {
		await closeAllGstreamerClients();
		await closeWorker(worker);
	}
}

async function sample(trace: Trace): Promise<void> {
	const at = performance.now();
	const stats = (await trace.client.transport.getStats())[0];
	if (!stats) return;
	const now = { in: stats.bytesReceived, out: stats.bytesSent, at };
	const last = trace.last;
	trace.last = now;
	if (!last) return;
	if (now.in > last.in) {
		trace.inGaps.push(Math.round(at - trace.lastInAt));
		trace.lastInAt = at;
	}
	if (now.out > last.out) {
		trace.outGaps.push(Math.round(at - trace.lastOutAt));
		trace.lastOutAt = at;
	}
}

await main();
