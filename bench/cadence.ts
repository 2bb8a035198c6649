// Measures how often `bytesReceived` (and the non-RTP part of `bytesSent`) grows on real server
// transports of real clients, alive and after they vanish: the facts behind the liveness defaults
// (docs/liveness.md). Not part of `npm run bench`; run it alone:
//   node --import tsx bench/cadence.ts [seconds-per-phase]
import './env.js';
import type { types } from 'mediasoup';
import { closeAllChromiumClients, launchChromiumClient } from '../test/helpers/chromium/harness.js';
import {
	closeWorker,
	createTestRouter,
	createTestTransport,
	createTestWebRtcServer,
	createTestWorker,
} from '../test/helpers/mediasoup.js';
import { closeAllWeriftClients, startWeriftClient } from '../test/helpers/werift/harness.js';

const PHASE_MS = Number(process.argv[2] ?? 30) * 1000;
const SAMPLE_MS = 200;

interface Series {
	name: string;
	transport: types.WebRtcTransport;
	lastRecv: number | undefined;
	lastSentOther: number | undefined;
	recvGrowth: Array<{ at: number; delta: number }>;
	sentGrowth: Array<{ at: number; delta: number }>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
	const worker = await createTestWorker();
	const router = await createTestRouter(worker);
	const server = await createTestWebRtcServer(worker);
	const series: Series[] = [];
	const add = (name: string, transport: types.WebRtcTransport) =>
		series.push({ name, transport, lastRecv: undefined, lastSentOther: undefined, recvGrowth: [], sentGrowth: [] });

	const media = async (label: string, webRtcServer?: types.WebRtcServer) => {
		const c = await launchChromiumClient(router, { ...(webRtcServer ? { webRtcServer } : {}), data: true });
		await c.waitForConnected();
		add(`chromium ${label} send media+data`, c.transport('send'));
		add(`chromium ${label} recv media+data`, c.transport('recv'));
		return c;
	};
	const dataOnly = async (label: string, webRtcServer?: types.WebRtcServer) => {
		const c = await launchChromiumClient(router, {
			...(webRtcServer ? { webRtcServer } : {}),
			produce: false,
			data: true,
		});
		await c.waitForConnected();
		add(`chromium ${label} send data-only`, c.transport('send'));
		add(`chromium ${label} recv data-only`, c.transport('recv'));
		return c;
	};
	const werift = async (label: string, webRtcServer?: types.WebRtcServer) => {
		const t = await createTestTransport(router, { enableSctp: true, ...(webRtcServer ? { webRtcServer } : {}) });
		const w = await startWeriftClient({ transport: t });
		await w.waitForConnected();
		add(`werift ${label} data-only`, t);
		return w;
	};

	const cOwn = await media('own-port');
	const cSrv = await media('server', server);
	const dOwn = await dataOnly('own-port');
	const dSrv = await dataOnly('server', server);
	const wOwn = await werift('own-port');
	const wSrv = await werift('server', server);

	const t0 = performance.now();
	const phases: Array<{ name: string; at: number }> = [];
	const mark = (name: string) => {
		phases.push({ name, at: performance.now() - t0 });
		process.stderr.write(`[${((performance.now() - t0) / 1000).toFixed(1)} s] ${name}\n`);
	};
	let sampling = true;
	const sampler = (async () => {
		while (sampling) {
			const at = performance.now() - t0;
			await Promise.all(
				series.map(async (s) => {
					if (s.transport.closed) return;
					const [st] = await s.transport.getStats().catch(() => []);
					if (!st) return;
					const other = st.bytesSent - (st.rtpBytesSent ?? 0) - (st.rtxBytesSent ?? 0) - (st.probationBytesSent ?? 0);
					if (s.lastRecv !== undefined && st.bytesReceived > s.lastRecv)
						s.recvGrowth.push({ at, delta: st.bytesReceived - s.lastRecv });
					if (s.lastSentOther !== undefined && other > s.lastSentOther) s.sentGrowth.push({ at, delta: other - s.lastSentOther });
					s.lastRecv = st.bytesReceived;
					s.lastSentOther = other;
				}),
			);
			await sleep(SAMPLE_MS);
		}
	})();

	mark('all connected, media flowing');
	await sleep(PHASE_MS);
	mark('consumers paused (server side)');
	for (const c of [cOwn, cSrv]) for (const consumer of c.consumers) await consumer.pause();
	await sleep(PHASE_MS);
	mark('consumers closed (server side)');
	for (const c of [cOwn, cSrv]) for (const consumer of c.consumers) consumer.close();
	await sleep(PHASE_MS);
	mark('page.close() / werift SIGKILL');
	await Promise.all([cOwn.closePage(), cSrv.closePage(), dOwn.closePage(), dSrv.closePage()]);
	wOwn.kill();
	wSrv.kill();
	await sleep(PHASE_MS);
	mark('end');
	sampling = false;
	await sampler;

	const summary = (growth: Array<{ at: number; delta: number }>, from: number, to: number) => {
		const inside = growth.filter((g) => g.at >= from && g.at < to);
		const times = [from, ...inside.map((g) => g.at), to];
		const gaps = times.slice(1).map((t, i) => t - (times[i] ?? 0));
		const maxGap = Math.max(...gaps);
		const deltas = inside.map((g) => g.delta);
		return `${String(inside.length).padStart(4)} grow, max gap ${(maxGap / 1000).toFixed(1).padStart(5)} s, deltas ${
			deltas.length ? `${Math.min(...deltas)}..${Math.max(...deltas)}` : '-'
		}`;
	};
	for (let i = 0; i < phases.length - 1; i++) {
		const phase = phases[i];
		const next = phases[i + 1];
		if (!phase || !next) continue;
		console.log(`\n## ${phase.name} (${(phase.at / 1000).toFixed(0)}–${(next.at / 1000).toFixed(0)} s)`);
		for (const s of series) {
			console.log(
				`${s.name.padEnd(34)} recv: ${summary(s.recvGrowth, phase.at, next.at)} | sent non-RTP: ${summary(s.sentGrowth, phase.at, next.at)}`,
			);
		}
	}
	await closeAllChromiumClients();
	await closeAllWeriftClients();
	await closeWorker(worker);
}

main().catch(async (error) => {
	console.error(error);
	await closeAllChromiumClients().catch(() => {});
	process.exit(1);
});
