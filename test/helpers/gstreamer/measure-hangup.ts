// What the worker receives when a webrtcbin audio sender hangs up (pipeline to NULL) or is SIGKILLed:
// samples getStats() every 50 ms around the ending and prints the non-RTP bytes (RTCP: the BYE) that
// arrive after the last RTP. Not a test: a tool for the notes. Run under the shared lock:
//
//   flock /tmp/mw-heavy.lock env MEDIASOUP_WORKER_BIN=… node --import tsx test/helpers/gstreamer/measure-hangup.ts
import * as mediasoup from 'mediasoup';
import {
	closeWorker,
	createTestRouter,
	createTestTransport,
	createTestWebRtcServer,
	createTestWorker,
	hasWorkerConsent,
} from '../mediasoup.js';
import { closeAllGstreamerClients, startGstreamerClient } from './harness.js';

const SAMPLE_MS = 50;

async function main(): Promise<void> {
	console.log(`mediasoup ${mediasoup.version}`);
	const worker = await createTestWorker();
	const router = await createTestRouter(worker);
	const server = await createTestWebRtcServer(worker);
	try {
		for (const ending of ['hang-up EOS+3s+NULL', 'hang-up EOS+NULL', 'hang-up NULL', 'SIGKILL'] as const) {
			for (const onServer of [false, true]) {
				const client = await startGstreamerClient({
					kind: 'send',
					// e.g. GST_DEBUG_CHILD=rtpsession:6 shows whether a BYE is scheduled and sent.
					...(process.env.GST_DEBUG_CHILD ? { gstDebug: process.env.GST_DEBUG_CHILD } : {}),
					createTransport: () =>
						createTestTransport(router, {
							...(hasWorkerConsent ? { iceConsentTimeout: 0 } : {}),
							...(onServer ? { webRtcServer: server } : {}),
						}),
				});
				await new Promise((resolve) => setTimeout(resolve, 3_000));
				const read = async () => {
					const s = (await client.transport.getStats())[0];
					return { all: s?.bytesReceived ?? 0, rtp: s?.rtpBytesReceived ?? 0, at: performance.now() };
				};
				console.log(`  before the ending: ${JSON.stringify(await client.state())}`);
				const before = await read();
				const endedAt = performance.now();
				const endedWall = Date.now();
				if (ending === 'SIGKILL') client.kill();
				else await client.hangup({ eos: ending !== 'hang-up NULL', eosWaitMs: ending === 'hang-up EOS+3s+NULL' ? 3_000 : 300 });
				const samples = [before];
				while (performance.now() - endedAt < 4_000) {
					await new Promise((resolve) => setTimeout(resolve, SAMPLE_MS));
					samples.push(await read());
				}
				let lastRtp = 0;
				for (const [i, s] of samples.entries()) if (i > 0 && s.rtp > (samples[i - 1]?.rtp ?? 0)) lastRtp = i;
				const rtpEnd = samples[lastRtp] ?? before;
				const final = samples[samples.length - 1] ?? before;
				const growths = samples
					.slice(1)
					.map((s, i) => ({
						ms: Math.round(s.at - endedAt),
						all: s.all - (samples[i]?.all ?? 0),
						rtp: s.rtp - (samples[i]?.rtp ?? 0),
					}))
					.filter((g) => g.all > 0);
				console.log(
					`${ending} (${onServer ? 'WebRtcServer' : 'own port'}): after the ending, growths (ms from ending: all/rtp bytes) ` +
						`${growths.map((g) => `${g.ms}: ${g.all}/${g.rtp}`).join(', ') || 'none'}; non-RTP bytes after the last RTP ${final.all - final.rtp - (rtpEnd.all - rtpEnd.rtp)}`,
				);
				const byes = client.clientEvents.filter((e) => e.type === 'rtcpbye');
				console.log(
					`  RTCP BYE sent by webrtcbin: ${byes.length === 0 ? 'none' : byes.map((e) => `${e.at - endedWall} ms after the ending, packet types ${e.type === 'rtcpbye' ? e.packetTypes.join('+') : ''}`).join('; ')}`,
				);
				const byeLines = client
					.output()
					.split('\n')
					.filter((line) => /\bbye\b/i.test(line))
					.slice(-6);
				if (process.env.GST_DEBUG_CHILD) console.log(`  child log lines about BYE:\n  ${byeLines.join('\n  ') || '(none)'}`);
				await client.close();
			}
		}
	} finally {
		await closeAllGstreamerClients();
		await closeWorker(worker);
	}
}

await main();
