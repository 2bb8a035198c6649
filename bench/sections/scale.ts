// The scale section of `npm run bench` (issue 17): the liveness scheduler at 10 000 transports over
// 4 workers and 1 000 on 1, simulated (bench/scale/simulate.ts: fake transports on a simulated
// clock, no mediasoup worker), side by side: the naive setInterval(getStats, 2000) per transport
// (no budget), the old shared round-robin (one budget of 200/s for the whole process), a budget
// per worker, and a budget per worker with producer-score hints.
import { type Mode, type ScaleFigures, simulate } from '../scale/simulate.js';
import type { BenchSection } from './index.js';

const MODES: readonly Mode[] = ['naive', 'shared', 'per-worker', 'per-worker+hints'];
const LABEL: Record<Mode, string> = {
	naive: 'naive setInterval(getStats, 2000), no budget',
	shared: 'round-robin, one budget for the process (before)',
	'per-worker': 'round-robin, a budget per worker',
	'per-worker+hints': 'a budget per worker + producer-score hints',
};

const s = (ms: number) => (Number.isFinite(ms) ? `${(ms / 1000).toFixed(1)} s` : 'not closed');

async function run({ quick, log }: { readonly quick: boolean; readonly log: (line: string) => void }): Promise<string> {
	const scales = quick
		? [{ transports: 1_000, workers: 4, vanish: 100 }]
		: [
				{ transports: 10_000, workers: 4, vanish: 300 },
				{ transports: 1_000, workers: 1, vanish: 100 },
			];
	const rows: ScaleFigures[] = [];
	for (const scale of scales) {
		for (const mode of MODES) {
			log(`  ${scale.transports} transports / ${scale.workers} workers: ${mode}`);
			rows.push(await simulate({ mode, ...scale }));
		}
	}
	const lines = [
		'## Liveness at scale (simulated)',
		'',
		'`BENCH_SECTIONS=scale npm run bench` (bench/sections/scale.ts, bench/scale/simulate.ts). **Simulated**:',
		'fake transports on a simulated clock, no mediasoup worker, so the figures are what the scheduling',
		"logic decides and what it costs Node, not a worker's CPU or a real getStats() round trip (those are",
		'in the cost section above: about 30 µs of worker CPU per request). Defaults (inactivityTimeoutMs,',
		'pollIntervalMs 2 s, 200 requests/s). Half the transports carry audio (50 packets/s plus a consent',
		'check every 2.5 s), half are idle (consent only); clients vanish at random phases over 30 s after',
		"70 s; with hints, a media transport's producer reports score 0 1.5 s after its client vanished",
		"(what the worker's RTP inactivity check does for **simulcast** producers only: audio producers",
		'never get it, see liveness.md "Hints"). Transports of one worker share its channel, as on mediasoup.',
		'',
		'| transports / workers | scheduler | media detection median / p95 / max | idle detection median / p95 / max | false closes | busiest second per worker (requests) | Node CPU (logic, % of a core) | heap per transport + watch |',
		'|---|---|---|---|---|---|---|---|',
	];
	for (const r of rows) {
		const m = r.detectionMs.media;
		const i = r.detectionMs.idle;
		lines.push(
			`| ${r.transports.toLocaleString('en-US')} / ${r.workers} | ${LABEL[r.mode]} | ${s(m.median)} / ${s(m.p95)} / ${s(m.max)} (${r.vanished.media}) | ${s(i.median)} / ${s(i.p95)} / ${s(i.max)} (${r.vanished.idle}) | ${r.falseCloses} | ${r.busiestSecondPerWorker} | ${r.nodeCpuPercentOfCore.toFixed(2)} % | ${(r.heapBytesPerWatch / 1024).toFixed(1)} KB |`,
		);
	}
	lines.push(
		'',
		'Node CPU is the scheduler, judge and fake transports over 230 simulated seconds, divided by those',
		'seconds (the simulation runs faster than real time). Heap per watch includes the fake transport',
		'objects, so it is an upper bound for the watch alone. Not measured here: worker CPU above idle,',
		'event-loop p99, real SRTP clients over WebRtcServers and own ports (issue 17 asks for them).',
		'',
	);
	return lines.join('\n');
}

export const scale: BenchSection = {
	name: 'scale',
	title: 'liveness at scale (simulated: per-worker budget, hints, vs shared round-robin and naive polling)',
	run,
};
