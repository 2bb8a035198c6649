// Renders the Grafana dashboard (contrib/grafana/mediasoup-watchdog.json) from real data to
// docs/img/dashboard.png: a real mediasoup worker under real load (test/helpers/dashboard-scenario.ts,
// the scenario the dashboard test runs, several rounds), scraped every second by a real Prometheus
// (Debian `prometheus`); every panel's queries, read from the JSON, are run as range queries and
// drawn as plain SVG charts laid out as in Grafana, and headless Chromium (Debian's, through
// playwright-core) takes the screenshot. No Grafana and no network needed.
//
//   flock /tmp/mw-heavy.lock node --import tsx scripts/render-dashboard.ts [--rounds 6] [--out docs/img/dashboard.png]
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { projectRoot, workerBinaryPath } from './worker-path.mjs';

const { values } = parseArgs({
	options: {
		rounds: { type: 'string', default: '6' },
		out: { type: 'string', default: join(projectRoot as string, 'docs/img/dashboard.png') },
		html: { type: 'string' },
	},
});
const ROUNDS = Number(values.rounds);
if (!Number.isInteger(ROUNDS) || ROUNDS < 2) throw new Error(`--rounds must be an integer >= 2, got ${values.rounds}`);
/** Pause after each round, so the charts show one round from the next. */
const PAUSE_MS = 6_000;
/** What `$__rate_interval` becomes: Grafana's own would be 4 s at 1 s scrapes, too spiky for a picture. */
const RATE_WINDOW = '30s';
const STEP_S = 1;

interface Target {
	readonly expr: string;
	readonly legendFormat: string;
}
interface Panel {
	readonly type: string;
	readonly title: string;
	readonly gridPos: { readonly x: number; readonly y: number; readonly w: number; readonly h: number };
	readonly fieldConfig?: { readonly defaults?: { readonly unit?: string } };
	readonly targets?: readonly Target[];
}
interface Series {
	readonly name: string;
	readonly points: ReadonlyArray<readonly [number, number]>;
}

process.env.MEDIASOUP_WORKER_BIN ??= workerBinaryPath() as string;
const { createTestWorker, createTestRouter, closeWorker, mediasoupVersion } = await import('../test/helpers/mediasoup.js');
const { DASHBOARD_POLICY, SCRAPE_JOB, runLoadRound, startScrapedWatchdog } = await import(
	'../test/helpers/dashboard-scenario.js'
);
const { closeAllWeriftClients } = await import('../test/helpers/werift/harness.js');
const { closeAllChromiumClients } = await import('../test/helpers/chromium/harness.js');
const { launchChromium } = await import('../test/helpers/chromium/browser.js');

async function leave(
	outcome: { stay: { watch: { close(detail?: string): void }; client: { close(): Promise<void> } } } | undefined,
) {
	outcome?.stay.watch.close('left the room');
	await outcome?.stay.client.close();
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const log = (line: string): void => void process.stdout.write(`${new Date().toISOString().slice(11, 23)} ${line}\n`);

const dashboard = JSON.parse(await readFile(join(projectRoot as string, 'contrib/grafana/mediasoup-watchdog.json'), 'utf8')) as {
	title: string;
	panels: Panel[];
};

const worker = await createTestWorker();
const router = await createTestRouter(worker);
const scraped = await startScrapedWatchdog(DASHBOARD_POLICY);
const startedAt = Date.now() / 1_000;
const drawn: Array<{ panel: Panel; series: Series[] }> = [];
try {
	let previous: Awaited<ReturnType<typeof runLoadRound>> | undefined;
	for (let round = 0; round < ROUNDS; round++) {
		const [outcome] = await Promise.all([
			runLoadRound({ router, worker, watchdog: scraped.watchdog, round, onStep: (step) => log(`round ${round}: ${step}`) }),
			// The last round's peer that stayed leaves: the app closes its transport (`app`, clean).
			leave(previous),
		]);
		log(`round ${round}: ${JSON.stringify(outcome.closes)} denials ${outcome.denials.join(', ')}`);
		previous = outcome;
		await sleep(PAUSE_MS);
	}
	const seconds = Date.now() / 1_000 - startedAt;
	const substitute = (expr: string): string =>
		expr.replaceAll('$__rate_interval', RATE_WINDOW).replaceAll('$job', SCRAPE_JOB).replaceAll('$worker', '.*');
	for (const panel of dashboard.panels) {
		if (panel.type === 'row') continue;
		const series: Series[] = [];
		for (const target of panel.targets ?? []) {
			const result = await scraped.prometheus.queryRange(substitute(target.expr), seconds, STEP_S);
			const found = result.map((r) => ({
				name: target.legendFormat.replace(/\{\{(\w+)\}\}/g, (_, label: string) => r.metric[label] ?? ''),
				points: r.values.map(([t, v]) => [t, Number(v)] as const),
			}));
			// Many series of one query (a label per reason): leave out those at 0 throughout.
			series.push(...(found.length > 3 ? found.filter((s) => s.points.some(([, v]) => v !== 0 && !Number.isNaN(v))) : found));
		}
		drawn.push({ panel, series });
	}
	log(`queried ${drawn.length} panels over ${Math.round(seconds)} s`);
} finally {
	await scraped.close();
	await closeAllChromiumClients();
	await closeAllWeriftClients();
	await closeWorker(worker);
}

// Drawing: Grafana's dark theme and classic palette, 24 grid columns.
const COLORS = ['#73BF69', '#F2CC0C', '#8AB8FF', '#FF780A', '#F2495C', '#5794F2', '#B877D9', '#FADE2A', '#C0D8FF', '#FF9830'];
const COLUMN_PX = 44;
const ROW_PX = 27;
const escapeXml = (text: string): string => text.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);

function formatValue(value: number, unit: string | undefined): string {
	const round = (v: number): string => String(Number(v.toPrecision(3)));
	switch (unit) {
		case 's':
			return value !== 0 && Math.abs(value) < 1 ? `${round(value * 1_000)} ms` : `${round(value)} s`;
		case 'percentunit':
			return `${round(value * 100)}%`;
		case 'reqps':
			return `${round(value)} req/s`;
		default:
			return round(value);
	}
}

function chart({ panel, series }: { panel: Panel; series: Series[] }, from: number, to: number): string {
	const width = panel.gridPos.w * COLUMN_PX - 8;
	const height = panel.gridPos.h * ROW_PX - 8;
	const columns = series.some((s) => s.name.length > 28) ? 2 : 3;
	const legendRows = Math.ceil(series.length / columns);
	const plot = { left: 64, top: 30, right: width - 12, bottom: height - 26 - legendRows * 16 };
	const finite = series.flatMap((s) => s.points.map(([, v]) => v)).filter(Number.isFinite);
	const max = Math.max(...finite, 0);
	const top = max === 0 ? 1 : niceCeil(max);
	const x = (t: number): number => plot.left + ((t - from) / (to - from)) * (plot.right - plot.left);
	const y = (v: number): number => plot.bottom - (v / top) * (plot.bottom - plot.top);
	const parts: string[] = [
		`<rect width="${width}" height="${height}" rx="3" fill="#181b1f" stroke="#2c3235"/>`,
		`<text x="10" y="19" class="title">${escapeXml(panel.title)}</text>`,
	];
	for (let i = 0; i <= 4; i++) {
		const v = (top * i) / 4;
		parts.push(
			`<line x1="${plot.left}" x2="${plot.right}" y1="${y(v)}" y2="${y(v)}" class="grid"/>`,
			`<text x="${plot.left - 6}" y="${y(v) + 4}" text-anchor="end">${formatValue(v, panel.fieldConfig?.defaults?.unit)}</text>`,
		);
	}
	for (let i = 0; i <= 4; i++) {
		const t = from + ((to - from) * i) / 4;
		const label = new Date(t * 1_000).toISOString().slice(11, 19);
		const anchor = i === 0 ? 'start' : i === 4 ? 'end' : 'middle';
		parts.push(`<text x="${x(t)}" y="${plot.bottom + 15}" text-anchor="${anchor}">${label}</text>`);
	}
	series.forEach((s, i) => {
		const color = COLORS[i % COLORS.length];
		// A gap where the value is NaN (a quantile with no sample in the window).
		const path = s.points
			.map(([t, v], j) => {
				if (!Number.isFinite(v)) return '';
				const previous = s.points[j - 1];
				const move = previous === undefined || !Number.isFinite(previous[1]);
				return `${move ? 'M' : 'L'}${x(t).toFixed(1)},${y(v).toFixed(1)}`;
			})
			.join('');
		parts.push(`<path d="${path}" fill="none" stroke="${color}" stroke-width="1.6"/>`);
		const lx = 12 + (i % columns) * Math.floor((width - 24) / columns);
		const ly = plot.bottom + 32 + Math.floor(i / columns) * 16;
		parts.push(
			`<rect x="${lx}" y="${ly - 8}" width="12" height="4" fill="${color}"/>`,
			`<text x="${lx + 17}" y="${ly - 3}">${escapeXml(s.name)}</text>`,
		);
	});
	if (series.length === 0) parts.push(`<text x="${width / 2}" y="${height / 2}" text-anchor="middle">No data</text>`);
	const left = panel.gridPos.x * COLUMN_PX + 4;
	const topPx = panel.gridPos.y * ROW_PX + 4;
	return `<svg style="left:${left}px;top:${topPx}px" width="${width}" height="${height}">${parts.join('')}</svg>`;
}

function niceCeil(value: number): number {
	const magnitude = 10 ** Math.floor(Math.log10(value));
	const step = [1, 2, 2.5, 5, 10].find((m) => m * magnitude >= value) ?? 10;
	return step * magnitude;
}

const from = Math.min(...drawn.flatMap((d) => d.series.flatMap((s) => s.points.map(([t]) => t))));
const to = Math.max(...drawn.flatMap((d) => d.series.flatMap((s) => s.points.map(([t]) => t))));
const rows = dashboard.panels
	.filter((p) => p.type === 'row')
	.map((p) => `<div class="row" style="top:${p.gridPos.y * ROW_PX + 6}px">${escapeXml(p.title)}</div>`);
const bottom = Math.max(...dashboard.panels.map((p) => (p.gridPos.y + p.gridPos.h) * ROW_PX));
const html = `<!doctype html><html><head><meta charset="utf-8"><style>
body { margin: 0; background: #111217; font: 12px sans-serif; color: #ccccdc; }
header { padding: 10px 12px 4px; font-size: 16px; } header small { font-size: 11px; color: #8e8e9e; margin-left: 12px; }
main { position: relative; width: ${24 * COLUMN_PX}px; height: ${bottom}px; }
svg { position: absolute; } svg text { fill: #ccccdc; font: 11px sans-serif; } svg .title { font-size: 13px; font-weight: 600; }
.grid { stroke: #2c3235; } .row { position: absolute; left: 8px; font-size: 14px; font-weight: 600; }
</style></head><body><header>${escapeXml(dashboard.title)}<small>job=${SCRAPE_JOB} · worker=All · $__rate_interval=${RATE_WINDOW} · real data: ${ROUNDS} rounds of test/helpers/dashboard-scenario.ts on a real mediasoup ${mediasoupVersion} worker, scraped every 1 s by Prometheus</small></header>
<main>${rows.join('')}${drawn.map((d) => chart(d, from, to)).join('')}</main></body></html>`;
if (values.html) await writeFile(values.html, html);

const browser = await launchChromium();
try {
	await browser.page.setViewportSize({ width: 24 * COLUMN_PX, height: bottom + 40 });
	await browser.page.setContent(html);
	await browser.page.screenshot({ path: values.out, fullPage: true });
	log(`wrote ${values.out}`);
} finally {
	await browser.close();
}
