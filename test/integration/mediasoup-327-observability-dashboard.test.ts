// The Grafana dashboard (contrib/grafana/mediasoup-watchdog.json) against a real Prometheus server
// (Debian `prometheus`, 127.0.0.1, 1 s scrapes) scraping a watchdog under real load on the real
// mediasoup worker (test/helpers/dashboard-scenario.ts): a Chromium page that vanishes
// (`inactive`), a werift peer that vanishes and is granted one ICE restart and denied a second
// (`restart-timeout`), one that stays, a transport nobody connects (`connect-timeout`, a restart
// denied `never-connected`). Every query of every panel, read from the JSON with the dashboard's
// variables substituted, returns data through Prometheus' HTTP API; so do the variables' own
// queries. Runs on mediasoup 3.27 only: the metrics and the dashboard do not depend on the worker
// version, and the suite's time is tight. Without the `prometheus` binary it fails.
import { readFile } from 'node:fs/promises';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { registerPrometheusMetrics } from '../../src/adapters/prometheus.js';
import { createWatchdog } from '../../src/index.js';
import { closeAllChromiumClients } from '../helpers/chromium/harness.js';
import { DASHBOARD_POLICY, runLoadRound, SCRAPE_JOB, startScrapedWatchdog } from '../helpers/dashboard-scenario.js';
import { useMediasoup } from '../helpers/mediasoup-fixture.js';
import { closeAllWeriftClients } from '../helpers/werift/harness.js';

const sfu = useMediasoup({ closeClients: [closeAllChromiumClients, closeAllWeriftClients] });

interface Target {
	readonly expr: string;
	readonly legendFormat?: string;
}
interface Panel {
	readonly type: string;
	readonly title: string;
	readonly targets?: readonly Target[];
}
interface Variable {
	readonly name: string;
	readonly type: string;
	readonly query: string;
}
interface Dashboard {
	readonly schemaVersion: number;
	readonly templating: { readonly list: readonly Variable[] };
	readonly panels: readonly Panel[];
}

const dashboard = JSON.parse(
	await readFile(new URL('../../contrib/grafana/mediasoup-watchdog.json', import.meta.url), 'utf8'),
) as Dashboard;
const queryPanels = dashboard.panels.filter((p) => p.type !== 'row');

/**
 * What Grafana substitutes: the values the variables select, and for `$__rate_interval` a window
 * that covers the whole test (at least 4 scrapes, as Grafana's own minimum).
 */
function instantiate(expr: string, values: { job: string; worker: string }): string {
	return expr.replaceAll('$__rate_interval', '1m').replaceAll('$job', values.job).replaceAll('$worker', values.worker);
}

/** Every `mediasoup_watchdog_…` name a query uses. */
function metricNames(expr: string): string[] {
	return [...expr.matchAll(/\bmediasoup_watchdog_\w+/g)].map((m) => m[0]);
}

describe('contrib/grafana dashboard', () => {
	it('is importable: schemaVersion, a Prometheus datasource variable, every panel on it', () => {
		expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36);
		const datasource = dashboard.templating.list.find((v) => v.type === 'datasource');
		expect(datasource).toMatchObject({ name: 'datasource', query: 'prometheus' });
		// biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's variable syntax, not a template
		const uid = '${datasource}';
		for (const panel of queryPanels) {
			expect(panel, panel.title).toMatchObject({ datasource: { type: 'prometheus', uid } });
			expect(panel.targets?.length, panel.title).toBeGreaterThan(0);
		}
		expect(queryPanels.map((p) => p.title)).toEqual([
			'Transports by state',
			'Closes by reason (per minute)',
			'Time to connect',
			'Never connected (share of new transports)',
			'Detection latency by reason',
			'ICE restart decisions (per minute)',
			'Liveness budget per worker (getStats requests/s)',
			'Detection bound per worker',
			'Polled transports per worker',
			'Liveness trouble',
			'Port ranges: share taken',
			'Port ranges: ports taken',
		]);
	});

	it('uses only metric names the exporter registers', async () => {
		const registry = new Registry();
		const exporter = registerPrometheusMetrics(createWatchdog({}), { registry });
		const exposed = new Set<string>();
		for (const metric of await registry.getMetricsAsJSON()) {
			exposed.add(metric.name);
			if (String(metric.type) === 'histogram')
				for (const suffix of ['_bucket', '_count', '_sum']) exposed.add(`${metric.name}${suffix}`);
		}
		exporter.unregister();
		const used = [
			...queryPanels.flatMap((p) => (p.targets ?? []).flatMap((t) => metricNames(t.expr))),
			...dashboard.templating.list.flatMap((v) => metricNames(v.query ?? '')),
		];
		expect(used.length).toBeGreaterThan(10);
		expect(used.filter((name) => !exposed.has(name))).toEqual([]);
	});

	it('every panel query returns data from a real Prometheus scraping a watchdog under real load', async () => {
		const scraped = await startScrapedWatchdog(DASHBOARD_POLICY);
		try {
			const { watchdog, prometheus } = scraped;
			// Two rounds: a histogram series with a label (detection latency by reason) appears at its
			// first sample, which rate() cannot see; the second round's departures move it.
			for (const round of [0, 1]) {
				const outcome = await runLoadRound({ router: sfu.router, worker: sfu.worker, watchdog, round });
				expect(outcome.closes).toEqual({
					[`never-${round}`]: 'connect-timeout',
					[`drop-${round}`]: 'restart-timeout',
					[`page-${round}`]: 'inactive',
				});
				expect(outcome.denials).toEqual(['never-connected', 'rate-limited']);
				expect(outcome.connected).toEqual([`stay-${round}`]);
			}
			// Prometheus has scraped all six closes, and a scrape after the last gauge change.
			await prometheus.until(`sum(mediasoup_watchdog_transport_closes_total{job="${SCRAPE_JOB}"}) == 6`, 10_000);
			await new Promise((resolve) => setTimeout(resolve, 1_500));

			// The variables' own queries (Grafana's label_values(selector, label)) find the job and the worker.
			const values = { job: SCRAPE_JOB, worker: String(sfu.worker.pid) };
			for (const variable of dashboard.templating.list.filter((v) => v.type === 'query')) {
				const [, selector, label] = /^label_values\((.+), (\w+)\)$/.exec(variable.query) ?? [];
				expect(selector, variable.query).toBeDefined();
				const found = await prometheus.labelValues(label as string, instantiate(selector as string, values));
				expect(found, variable.name).toEqual([values[variable.name as keyof typeof values]]);
			}

			const empty: string[] = [];
			for (const panel of queryPanels) {
				for (const target of panel.targets ?? []) {
					const result = await prometheus.query(instantiate(target.expr, values));
					if (!result.some((s) => Number.isFinite(Number(s.value[1]))))
						empty.push(`${panel.title}: ${target.expr} → ${JSON.stringify(result)}`);
				}
			}
			expect(empty).toEqual([]);

			// What the panels show is what happened.
			const at = async (promql: string): Promise<Record<string, number>> =>
				Object.fromEntries(
					(await prometheus.query(instantiate(promql, values))).map((s) => [
						Object.values(s.metric).join(' '),
						Number(s.value[1]),
					]),
				);
			expect(await at('sum by (state) (mediasoup_watchdog_transports)')).toMatchObject({ connected: 2, connecting: 0 });
			expect(await at('sum by (reason) (mediasoup_watchdog_transport_closes_total) > 0')).toEqual({
				'connect-timeout': 2,
				inactive: 2,
				'restart-timeout': 2,
			});
			expect(await at('sum by (outcome, reason) (mediasoup_watchdog_ice_restarts_total) > 0')).toEqual({
				granted: 2,
				'denied never-connected': 2,
				'denied rate-limited': 2,
			});
			const snap = watchdog.snapshot();
			expect(await at('sum by (worker) (mediasoup_watchdog_liveness_worker_polled_transports)')).toEqual({
				[values.worker]: snap.liveness.tracked,
			});
			const bound = await at('max by (worker) (mediasoup_watchdog_liveness_worker_detection_bound_seconds)');
			expect(bound[values.worker]).toBe(snap.liveness.detectionBoundMs / 1_000);
			// The two peers that stayed hold their ports of the worker's range.
			const taken = Object.fromEntries(snap.ports.ranges.map((r) => [r.protocol, r.taken]));
			expect(taken.udp).toBe(2);
			expect(await at('sum by (protocol) (mediasoup_watchdog_port_range_taken_ports)')).toEqual(taken);
		} finally {
			await scraped.close();
		}
	}, 60_000);
});
