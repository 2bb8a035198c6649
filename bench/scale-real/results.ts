// What a scale-real scenario measures (ScenarioRun, one JSON line from bench/scale-real/run.ts),
// its aggregation (detection by kind of transport, false closes, CPU above the idle baseline) and
// the markdown tables of the section. Pure functions: test/unit/bench-scale-real.test.ts.
import { type Mode, RAISED_BUDGET } from './config.js';

/** One measured window: CPU in % of one core, event-loop delay p99. */
export interface CpuWindow {
	readonly seconds: number;
	/** Per worker process, from /proc/<pid>/stat. */
	readonly workerPercent: readonly number[];
	/** The Node process that runs mediasoup's Node layer and the watchdog (or the naive pollers). */
	readonly nodePercent: number;
	/** The lean clients' processes together. */
	readonly clientsPercent: number;
	readonly eventLoopP99Ms: number;
}

export interface TransportRecord {
	readonly media: boolean;
	/** Its user also has the other kind of transport (a media and a data-only one, vanishing together). */
	readonly sibling: boolean;
	readonly webRtcServer: boolean;
	/** Wall-clock ms when its client went silent (vanished in this mode). */
	readonly vanishedAt?: number;
	/** Wall-clock ms of the close (naive: when it would have closed). */
	readonly closedAt?: number;
	readonly reason?: string;
}

export interface ModeRun {
	readonly mode: Mode;
	readonly watched: number;
	readonly heapPerWatch: number;
	/** Right before watching: the same clients connected and sending, nothing watched. */
	readonly idle: CpuWindow;
	/** While watching, before the vanishes. */
	readonly cpu: CpuWindow;
	readonly records: readonly TransportRecord[];
	/** Consent checks the clients sent and skipped (a lossy link) from their connect to this mode's end. */
	readonly consent?: { readonly sent: number; readonly skipped: number };
}

export interface ScenarioRun {
	readonly worker: string;
	readonly node: string;
	readonly transports: number;
	readonly workers: number;
	/** The transports' `iceConsentTimeout` (s) when not mediasoup's default (30). */
	readonly iceConsentTimeout?: number;
	/** Probability that a client skipped one consent check. */
	readonly consentLoss?: number;
	readonly connected: number;
	readonly setupSeconds: number;
	readonly modes: readonly ModeRun[];
	readonly notes: readonly string[];
}

export type Kind = 'media' | 'idle, alone' | 'idle, with a media sibling';
export const KINDS: readonly Kind[] = ['media', 'idle, alone', 'idle, with a media sibling'];

export interface Detection {
	readonly n: number;
	readonly medianMs: number;
	readonly p95Ms: number;
	readonly maxMs: number;
	/** Vanished but not closed by the end of the wait. */
	readonly notClosed: number;
	/** Close reasons of the detected ones, with counts. */
	readonly reasons: Readonly<Record<string, number>>;
}

export interface ModeFigures {
	readonly mode: Mode;
	readonly watched: number;
	readonly detection: Readonly<Record<Kind, Detection>>;
	/** Closed (or, naive, would have been) while the client was alive, by kind. */
	readonly falseCloses: Readonly<Record<Kind, number>>;
	/** Of those, how many on a WebRtcServer. */
	readonly falseClosesOnServer: number;
	/** Their close reasons, with counts. */
	readonly falseCloseReasons: Readonly<Record<string, number>>;
	readonly workerIdle: readonly number[];
	readonly workerAboveIdle: readonly number[];
	readonly nodeIdle: number;
	readonly nodeAboveIdle: number;
	readonly clientsPercent: number;
	readonly eventLoopP99Ms: number;
	readonly heapPerWatch: number;
}

export const kindOf = (r: TransportRecord): Kind =>
	r.media ? 'media' : r.sibling ? 'idle, with a media sibling' : 'idle, alone';

/** Nearest-rank quantile of sorted values. */
export function quantile(sorted: readonly number[], q: number): number {
	if (sorted.length === 0) return Number.NaN;
	return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] as number;
}

export function detectionOf(records: readonly TransportRecord[]): Detection {
	const vanished = records.filter((r) => r.vanishedAt !== undefined);
	const times: number[] = [];
	const reasons: Record<string, number> = {};
	let notClosed = 0;
	for (const r of vanished) {
		if (r.closedAt === undefined || r.closedAt < (r.vanishedAt as number)) {
			if (r.closedAt === undefined) notClosed += 1;
			continue;
		}
		times.push(r.closedAt - (r.vanishedAt as number));
		const reason = r.reason ?? 'unknown';
		reasons[reason] = (reasons[reason] ?? 0) + 1;
	}
	times.sort((a, b) => a - b);
	return {
		n: times.length,
		medianMs: quantile(times, 0.5),
		p95Ms: quantile(times, 0.95),
		maxMs: times.at(-1) ?? Number.NaN,
		notClosed,
		reasons,
	};
}

/** A close of a live client: no vanish, or a close before the vanish. */
export const isFalseClose = (r: TransportRecord): boolean =>
	r.closedAt !== undefined && (r.vanishedAt === undefined || r.closedAt < r.vanishedAt);

export function aggregate(run: ScenarioRun): ModeFigures[] {
	return run.modes.map((m) => {
		const detection = {} as Record<Kind, Detection>;
		const falseCloses = {} as Record<Kind, number>;
		for (const kind of KINDS) {
			const of = m.records.filter((r) => kindOf(r) === kind);
			detection[kind] = detectionOf(of);
			falseCloses[kind] = of.filter(isFalseClose).length;
		}
		return {
			mode: m.mode,
			watched: m.watched,
			detection,
			falseCloses,
			falseClosesOnServer: m.records.filter((r) => isFalseClose(r) && r.webRtcServer).length,
			falseCloseReasons: countBy(m.records.filter(isFalseClose).map((r) => r.reason ?? 'unknown')),
			workerIdle: m.idle.workerPercent,
			workerAboveIdle: m.cpu.workerPercent.map((p, i) => p - (m.idle.workerPercent[i] ?? 0)),
			nodeIdle: m.idle.nodePercent,
			nodeAboveIdle: m.cpu.nodePercent - m.idle.nodePercent,
			clientsPercent: m.cpu.clientsPercent,
			eventLoopP99Ms: m.cpu.eventLoopP99Ms,
			heapPerWatch: m.heapPerWatch,
		};
	});
}

function countBy(values: readonly string[]): Record<string, number> {
	const counts: Record<string, number> = {};
	for (const value of values) counts[value] = (counts[value] ?? 0) + 1;
	return counts;
}

const reasonList = (counts: Readonly<Record<string, number>>): string =>
	Object.entries(counts)
		.sort((a, b) => b[1] - a[1])
		.map(([reason, n]) => `${reason} × ${n}`)
		.join(', ');

export const MODE_LABEL: Record<Mode, string> = {
	naive: 'naive `setInterval(getStats, 2000)` per transport',
	shared: 'old shared round-robin (200/s for the process)',
	'per-worker': 'landed: 200/s per worker + hints',
	'per-worker-raised': `landed, budget raised: ${RAISED_BUDGET}/s per worker + hints`,
};

const sec = (ms: number): string => (Number.isFinite(ms) ? (ms / 1000).toFixed(1) : '–');
const pct = (p: number): string => `${p.toFixed(2)} %`;

function detectionCell(d: Detection): string {
	if (d.n === 0 && d.notClosed === 0) return '–';
	const reasons = reasonList(d.reasons);
	return `${sec(d.medianMs)} / ${sec(d.p95Ms)} / ${sec(d.maxMs)} (${d.n}${d.notClosed ? `; **${d.notClosed} not closed**` : ''})${reasons ? ` ${reasons}` : ''}`;
}

/** The section's two tables for one scenario: detection by kind, and cost. */
export function renderScenario(run: ScenarioRun, figures: readonly ModeFigures[]): string {
	const consent = [
		...(run.iceConsentTimeout === undefined ? [] : [`\`iceConsentTimeout\` ${run.iceConsentTimeout} s`]),
		...(run.consentLoss ? [`${(run.consentLoss * 100).toFixed(1)} % of consent checks lost`] : []),
	];
	const title = `${run.transports.toLocaleString('en-US')} transports / ${run.workers} worker${run.workers > 1 ? 's' : ''}${consent.length ? `, ${consent.join(', ')}` : ''}`;
	const lines = [
		`### ${title} (${run.worker}, Node ${run.node})`,
		'',
		`${run.connected.toLocaleString('en-US')} of ${run.transports.toLocaleString('en-US')} connected (setup ${run.setupSeconds.toFixed(0)} s).`,
		'',
		'Detection, seconds from the client going silent to the close (naive: to when it would close), median / p95 / max (n) and how closed:',
		'',
		`| scheduler | ${KINDS.join(' | ')} | false closes (on a WebRtcServer) |`,
		`|---|${KINDS.map(() => '---').join('|')}|---|`,
	];
	for (const f of figures) {
		const total = KINDS.reduce((sum, k) => sum + f.falseCloses[k], 0);
		lines.push(
			`| ${MODE_LABEL[f.mode]} | ${KINDS.map((k) => detectionCell(f.detection[k])).join(' | ')} | ${
				total === 0
					? '0'
					: `**${total}** (${f.falseClosesOnServer}): ${KINDS.filter((k) => f.falseCloses[k])
							.map((k) => `${k} ${f.falseCloses[k]}`)
							.join(', ')}; ${reasonList(f.falseCloseReasons)}`
			} |`,
		);
	}
	lines.push(
		'',
		'Cost while watching (before the vanishes), above the idle baseline measured right before it (the same clients connected and sending, nothing watched); % of one core:',
		'',
		'| scheduler | watched | worker CPU above idle, per worker (idle) | Node CPU above idle (idle) | event-loop p99 | heap per watch | clients (all processes) |',
		'|---|---|---|---|---|---|---|',
	);
	for (const f of figures) {
		lines.push(
			`| ${MODE_LABEL[f.mode]} | ${f.watched.toLocaleString('en-US')} | ${f.workerAboveIdle.map(pct).join(', ')} (${f.workerIdle.map(pct).join(', ')}) | ${pct(f.nodeAboveIdle)} (${pct(f.nodeIdle)}) | ${f.eventLoopP99Ms.toFixed(1)} ms | ${(f.heapPerWatch / 1024).toFixed(2)} KB | ${pct(f.clientsPercent)} |`,
		);
	}
	if (run.consentLoss) {
		for (const m of run.modes) {
			if (m.consent)
				lines.push(
					'',
					`- ${MODE_LABEL[m.mode]}: by its end the clients had sent ${m.consent.sent.toLocaleString('en-US')} consent checks and skipped ${m.consent.skipped.toLocaleString('en-US')}.`,
				);
		}
	}
	for (const note of run.notes) lines.push('', `- ${note}`);
	return lines.join('\n');
}
