// A real Debian `prometheus` server for tests: 127.0.0.1, a free port, a temp config and storage,
// scraping one target every `scrapeIntervalS` seconds. Fails loudly when the binary is missing.
//
//   const prom = await startPrometheusServer({ target: '127.0.0.1:9464' });
//   const series = await prom.query('up');
//   await prom.close();
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './redis-server.js';

const PROMETHEUS = process.env.PROMETHEUS_BIN ?? 'prometheus';
const START_TIMEOUT_MS = 15_000;

/** One element of an instant vector from the HTTP API. */
export interface PromSample {
	readonly metric: Readonly<Record<string, string>>;
	readonly value: readonly [number, string];
}

export interface PrometheusServer {
	readonly url: string;
	/** An instant query (`/api/v1/query`); throws with Prometheus' error text when it fails. */
	query(promql: string): Promise<PromSample[]>;
	/** A range query (`/api/v1/query_range`) over the last `seconds`, one point per `stepS`. */
	queryRange(
		promql: string,
		seconds: number,
		stepS: number,
	): Promise<Array<{ metric: Record<string, string>; values: Array<[number, string]> }>>;
	/** `/api/v1/label/<label>/values` of the series `match` selects (Grafana's `label_values(match, label)`). */
	labelValues(label: string, match: string): Promise<string[]>;
	/** Resolves once `promql` returns at least one sample; throws after `timeoutMs`. */
	until(promql: string, timeoutMs: number): Promise<PromSample[]>;
	/** Stops the server (SIGTERM, SIGKILL after 5 s) and removes its directory. */
	close(): Promise<void>;
	/** The server's recent output. */
	output(): string;
}

export interface PrometheusServerOptions {
	/** host:port of the /metrics endpoint to scrape. */
	readonly target: string;
	/** The scrape job's name (label `job`). Default `'sfu'`. */
	readonly job?: string;
	/** Scrape (and rule evaluation) interval in seconds. Default 1. */
	readonly scrapeIntervalS?: number;
}

export async function startPrometheusServer({
	target,
	job = 'sfu',
	scrapeIntervalS = 1,
}: PrometheusServerOptions): Promise<PrometheusServer> {
	const probe = spawnSync(PROMETHEUS, ['--version'], { encoding: 'utf8' });
	if (probe.error || probe.status !== 0) {
		throw new Error(
			`prometheus not found (${probe.error?.message ?? `exit ${probe.status}`}): install the Debian package \`prometheus\` (scripts/ensure-system-deps.sh) or set PROMETHEUS_BIN`,
		);
	}
	const dir = mkdtempSync(join(tmpdir(), 'mw-prometheus-'));
	const config = join(dir, 'prometheus.yml');
	writeFileSync(
		config,
		`global:\n  scrape_interval: ${scrapeIntervalS}s\n  evaluation_interval: ${scrapeIntervalS}s\nscrape_configs:\n  - job_name: ${job}\n    static_configs:\n      - targets: ['${target}']\n`,
	);
	const port = await freePort();
	const url = `http://127.0.0.1:${port}`;
	let log = '';
	const child: ChildProcess = spawn(
		PROMETHEUS,
		[
			`--config.file=${config}`,
			`--storage.tsdb.path=${join(dir, 'data')}`,
			`--web.listen-address=127.0.0.1:${port}`,
			'--log.level=warn',
		],
		{ stdio: ['ignore', 'pipe', 'pipe'] },
	);
	const keep = (chunk: Buffer): void => {
		log = (log + chunk.toString()).slice(-8_000);
	};
	child.stdout?.on('data', keep);
	child.stderr?.on('data', keep);
	const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

	const close = async (): Promise<void> => {
		if (child.exitCode === null && child.signalCode === null) {
			child.kill('SIGTERM');
			const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
			await exited;
			clearTimeout(timer);
		}
		rmSync(dir, { recursive: true, force: true });
	};

	const deadline = Date.now() + START_TIMEOUT_MS;
	for (;;) {
		try {
			if ((await fetch(`${url}/-/ready`)).ok) break;
		} catch {
			// not listening yet
		}
		if (child.exitCode !== null || Date.now() > deadline) {
			await close();
			throw new Error(`prometheus did not become ready on ${url}:\n${log}`);
		}
		await new Promise((resolve) => setTimeout(resolve, 100));
	}

	const get = async <T>(path: string, params: Record<string, string>): Promise<T> => {
		const response = await fetch(`${url}${path}?${new URLSearchParams(params)}`);
		const body = (await response.json()) as { status: string; data?: T; error?: string };
		if (body.status !== 'success' || body.data === undefined)
			throw new Error(`prometheus ${path} ${JSON.stringify(params)}: ${body.error}`);
		return body.data;
	};
	const api = async <T>(path: string, params: Record<string, string>): Promise<T> =>
		(await get<{ result: T }>(path, params)).result;
	const query = (promql: string): Promise<PromSample[]> => api<PromSample[]>('/api/v1/query', { query: promql });
	return {
		url,
		query,
		labelValues: (label, match) => get<string[]>(`/api/v1/label/${encodeURIComponent(label)}/values`, { 'match[]': match }),
		until: async (promql, timeoutMs) => {
			const deadline = Date.now() + timeoutMs;
			for (;;) {
				const result = await query(promql);
				if (result.length > 0) return result;
				if (Date.now() > deadline) throw new Error(`prometheus: \`${promql}\` still empty after ${timeoutMs} ms`);
				await new Promise((resolve) => setTimeout(resolve, 250));
			}
		},
		queryRange: (promql, seconds, stepS) => {
			const end = Date.now() / 1_000;
			return api('/api/v1/query_range', { query: promql, start: String(end - seconds), end: String(end), step: String(stepS) });
		},
		close,
		output: () => log,
	};
}
