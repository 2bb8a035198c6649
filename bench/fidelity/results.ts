// The fidelity benchmark's figures: what each worker's run (bench/fidelity/run-worker.ts) records
// per transport, and the pure aggregation and markdown of the section (bench/sections/fidelity.ts).
// No I/O here, so test/unit/bench-fidelity.test.ts checks it on made-up records.

export const CLIENTS = ['Chromium', 'Firefox ESR', 'GStreamer webrtcbin', 'werift'] as const;
export type ClientName = (typeof CLIENTS)[number];

export const KINDS = ['sending media', 'DataChannel only', 'receive-only', 'muted'] as const;
export type Kind = (typeof KINDS)[number];

/** One server transport of one client in one round. */
export interface TransportRecord {
	readonly client: ClientName;
	readonly kind: Kind;
	readonly round: number;
	/**
	 * true: watched by the watchdog (default policy). false: nobody watches it; what mediasoup alone
	 * gives (its consent check, 3.13.20+), measured as the ICE state turning 'disconnected'.
	 */
	readonly watched: boolean;
	/** Why the client did not start or its transport did not connect; nothing else is set then. */
	readonly failure?: string;
	/** ms from DTLS connected to the vanish (or to the early end below): healthy transport-time. */
	readonly healthyMs?: number;
	/** The watch closed (watched) or ICE went 'disconnected' (not watched) before the client vanished. */
	readonly earlyEnd?: { readonly reason: string; readonly detail?: string; readonly afterMs: number };
	/** ms from the vanish to the close (watched) or to ICE 'disconnected' (not watched); null: none within the wait. */
	readonly afterVanishMs?: number | null;
	/** The close's reason (watched), when it closed after the vanish. */
	readonly reason?: string;
}

/** What one worker's child process reports. */
export interface WorkerRun {
	/** e.g. `mediasoup 3.27.1`. */
	readonly worker: string;
	readonly node: string;
	/** The worker checks ICE consent itself (3.13.20+): the not-watched transports are measured. */
	readonly consentCheck: boolean;
	readonly records: readonly TransportRecord[];
	/** Anything the run wants the report to say (set-up failures beyond single transports). */
	readonly notes: readonly string[];
}

export interface Figures {
	readonly n: number;
	readonly median: number;
	readonly p90: number;
	readonly max: number;
}

/** Linear-interpolated quantile of ascending `sorted` (q in 0–1). */
export function quantile(sorted: readonly number[], q: number): number {
	if (sorted.length === 0) return Number.NaN;
	const position = (sorted.length - 1) * q;
	const low = Math.floor(position);
	const high = Math.ceil(position);
	const a = sorted[low] as number;
	const b = sorted[high] as number;
	return a + (b - a) * (position - low);
}

/** Median, p90 and max of `values`, or undefined when there are none. */
export function figures(values: readonly number[]): Figures | undefined {
	if (values.length === 0) return undefined;
	const sorted = [...values].sort((a, b) => a - b);
	return {
		n: sorted.length,
		median: quantile(sorted, 0.5),
		p90: quantile(sorted, 0.9),
		max: sorted[sorted.length - 1] as number,
	};
}

/** One client × worker. */
export interface PairSummary {
	readonly client: ClientName;
	readonly worker: string;
	/** Watched transports that connected. */
	readonly transports: number;
	/** Watched and not-watched transports whose client did not start or connect. */
	readonly failed: number;
	/** Sum of the watched transports' healthy time, in minutes. */
	readonly transportMinutes: number;
	/** Watched transports the watchdog closed before their client vanished: `reason: detail`. */
	readonly healthyClosed: readonly string[];
}

/** One client × worker × kind. */
export interface KindRow {
	readonly client: ClientName;
	readonly worker: string;
	readonly kind: Kind;
	/** Watched and connected. */
	readonly transports: number;
	readonly healthyClosed: number;
	/** From the vanish to the watch's close, in ms. */
	readonly detection: Figures | undefined;
	/** Close reasons after the vanish, with counts. */
	readonly reasons: Readonly<Record<string, number>>;
	/** Watched transports not closed within the wait after the vanish. */
	readonly notClosed: number;
	/** Not watched (consent-checking worker only): vanish to ICE 'disconnected', in ms. */
	readonly alone?: {
		readonly transports: number;
		readonly disconnect: Figures | undefined;
		/** ICE went 'disconnected' while the client was healthy: ms after connecting, each. */
		readonly whileHealthyMs: readonly number[];
		/** Still not 'disconnected' at the end of the wait. */
		readonly never: number;
	};
}

export interface Aggregate {
	readonly pairs: readonly PairSummary[];
	readonly rows: readonly KindRow[];
	/** Every transport that did not start or connect: `client, worker, kind, round N: message`. */
	readonly failures: readonly string[];
}

export function aggregate(runs: readonly WorkerRun[]): Aggregate {
	const pairs: PairSummary[] = [];
	const rows: KindRow[] = [];
	const failures: string[] = [];
	for (const run of runs) {
		for (const r of run.records) {
			if (r.failure !== undefined) {
				failures.push(
					`${r.client}, ${run.worker}, ${r.kind}${r.watched ? '' : ' (not watched)'}, round ${r.round}: ${r.failure}`,
				);
			}
		}
		for (const client of CLIENTS) {
			const mine = run.records.filter((r) => r.client === client);
			if (mine.length === 0) continue;
			const watched = mine.filter((r) => r.watched && r.failure === undefined);
			pairs.push({
				client,
				worker: run.worker,
				transports: watched.length,
				failed: mine.filter((r) => r.failure !== undefined).length,
				transportMinutes: watched.reduce((sum, r) => sum + (r.healthyMs ?? 0), 0) / 60_000,
				healthyClosed: watched.flatMap((r) => (r.earlyEnd ? [describeEnd(r.earlyEnd)] : [])),
			});
			for (const kind of KINDS) {
				const ofKind = mine.filter((r) => r.kind === kind);
				if (ofKind.length === 0) continue;
				rows.push(kindRow(client, run, kind, ofKind));
			}
		}
	}
	return { pairs, rows, failures };
}

function kindRow(client: ClientName, run: WorkerRun, kind: Kind, records: readonly TransportRecord[]): KindRow {
	const ok = records.filter((r) => r.failure === undefined);
	const watched = ok.filter((r) => r.watched);
	const vanished = watched.filter((r) => !r.earlyEnd);
	const reasons: Record<string, number> = {};
	for (const r of vanished) if (r.reason !== undefined) reasons[r.reason] = (reasons[r.reason] ?? 0) + 1;
	const row: KindRow = {
		client,
		worker: run.worker,
		kind,
		transports: watched.length,
		healthyClosed: watched.length - vanished.length,
		detection: figures(vanished.flatMap((r) => (typeof r.afterVanishMs === 'number' ? [r.afterVanishMs] : []))),
		reasons,
		notClosed: vanished.filter((r) => r.afterVanishMs === null).length,
	};
	if (!run.consentCheck) return row;
	const alone = ok.filter((r) => !r.watched);
	return {
		...row,
		alone: {
			transports: alone.length,
			disconnect: figures(alone.flatMap((r) => (!r.earlyEnd && typeof r.afterVanishMs === 'number' ? [r.afterVanishMs] : []))),
			whileHealthyMs: alone.flatMap((r) => (r.earlyEnd ? [r.earlyEnd.afterMs] : [])),
			never: alone.filter((r) => !r.earlyEnd && r.afterVanishMs === null).length,
		},
	};
}

function describeEnd(end: NonNullable<TransportRecord['earlyEnd']>): string {
	return `${end.reason} after ${seconds(end.afterMs)} s${end.detail ? ` (${end.detail})` : ''}`;
}

/** ms → seconds with one decimal. */
export function seconds(ms: number): string {
	return (ms / 1000).toFixed(1);
}

function renderFigures(f: Figures | undefined): string {
	return f ? `${seconds(f.median)} / ${seconds(f.p90)} / ${seconds(f.max)} (${f.n})` : '–';
}

/** The markdown tables (totals per client × worker, then every client × worker × kind) and the failures. */
export function renderTables(result: Aggregate, waitAfterVanishMs: number): string {
	const lines: string[] = [];
	lines.push(
		'**Healthy idle transports closed by the watchdog** (watched transports, from DTLS connected to the vanish):',
		'',
		'| client | worker | transports | transport-time | closed while healthy | failed to start or connect |',
		'|---|---|---:|---:|---|---:|',
	);
	for (const p of result.pairs) {
		const closed = p.healthyClosed.length === 0 ? '**0**' : `**${p.healthyClosed.length}**: ${p.healthyClosed.join('; ')}`;
		lines.push(
			`| ${p.client} | ${p.worker} | ${p.transports} | ${p.transportMinutes.toFixed(1)} min | ${closed} | ${p.failed} |`,
		);
	}
	lines.push(
		'',
		'**Vanish detection** (client SIGKILLed after the healthy window; seconds from the kill to the close, median / p90 / max (n)), ' +
			"and **mediasoup alone** (no watchdog, the worker's consent check at its default `iceConsentTimeout` 30: seconds from the kill to ICE `'disconnected'`):",
		'',
		'| client | worker | kind | watchdog: kill → close | closed by | not closed | mediasoup alone: kill → disconnected | alone: disconnected while healthy |',
		'|---|---|---|---|---|---:|---|---|',
	);
	for (const row of result.rows) {
		const reasons =
			Object.entries(row.reasons)
				.map(([reason, count]) => `${reason} × ${count}`)
				.join(', ') || '–';
		const healthy = row.healthyClosed ? ` (${row.healthyClosed} closed while healthy)` : '';
		const alone = row.alone
			? [
					renderFigures(row.alone.disconnect) + (row.alone.never ? `, ${row.alone.never} never` : ''),
					row.alone.whileHealthyMs.length
						? `${row.alone.whileHealthyMs.length} of ${row.alone.transports}, ${row.alone.whileHealthyMs.map(seconds).join(', ')} s after connecting`
						: `0 of ${row.alone.transports}`,
				]
			: ['n/a (no consent check)', 'n/a'];
		lines.push(
			`| ${row.client} | ${row.worker} | ${row.kind} | ${renderFigures(row.detection)}${healthy} | ${reasons} | ${row.notClosed} | ${alone.join(' | ')} |`,
		);
	}
	lines.push('', `"not closed" and "never": nothing within ${seconds(waitAfterVanishMs)} s of the kill.`);
	lines.push('', `**Failed to start or connect** (reported, left out of the figures): ${result.failures.length}`);
	for (const failure of result.failures) lines.push(`- ${failure.split('\n')[0]?.slice(0, 300)}`);
	return lines.join('\n');
}
