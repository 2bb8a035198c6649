// Records what each watched transport went through (watch states and events, mediasoup's own
// events, the demo's actions) and renders it as one self-contained HTML page: no scripts, no
// external assets, one row per transport.
import type { TransportWatch, WatchState } from '../../src/index.js';

export type TimelineEventKind = 'watch' | 'mediasoup' | 'action' | 'verdict';

export interface TimelineEvent {
	/** Milliseconds since the demo started. */
	readonly at: number;
	readonly kind: TimelineEventKind;
	readonly text: string;
}

export interface TimelineRow {
	readonly transportId: string;
	readonly scenario: string;
	/** e.g. `chromium send`. */
	readonly label: string;
	readonly startedAt: number;
	/** `[state, since]`, oldest first; the last one lasts until `endedAt` (or the end of the demo). */
	readonly states: Array<{ state: WatchState; at: number }>;
	readonly events: TimelineEvent[];
	endedAt: number | undefined;
	closeReason: string | undefined;
}

/** What the page shows about each scenario's outcome. */
export interface TimelineScenario {
	readonly name: string;
	readonly summary: string;
	readonly expected: string;
	readonly observed: string;
	readonly match: boolean;
	readonly latency: string;
}

interface ObserverLike {
	// biome-ignore lint/suspicious/noExplicitAny: mediasoup's typed observer
	on(event: string, listener: (...args: any[]) => void): unknown;
	// biome-ignore lint/suspicious/noExplicitAny: see above
	off(event: string, listener: (...args: any[]) => void): unknown;
}

export class Timeline {
	readonly #origin = performance.now();
	readonly rows: TimelineRow[] = [];
	/** Demo actions per scenario (launch, page closed, browser killed…). */
	readonly actions = new Map<string, TimelineEvent[]>();

	/** Milliseconds since the demo started. */
	now(): number {
		return performance.now() - this.#origin;
	}

	/** Records an action of the demo (what the "user" did) on the scenario's lane. */
	mark(scenario: string, text: string, kind: TimelineEventKind = 'action'): void {
		let list = this.actions.get(scenario);
		if (!list) {
			list = [];
			this.actions.set(scenario, list);
		}
		list.push({ at: this.now(), kind, text });
	}

	/**
	 * Follows a watch and its transport's observer. Call right after `watch()`, before the
	 * transport's parameters go to the client, so that no event is missed.
	 */
	follow(scenario: string, label: string, watch: TransportWatch, observer: ObserverLike): TimelineRow {
		const row: TimelineRow = {
			transportId: watch.transportId,
			scenario,
			label,
			startedAt: this.now(),
			states: [{ state: watch.state, at: this.now() }],
			events: [],
			endedAt: undefined,
			closeReason: undefined,
		};
		this.rows.push(row);
		const add = (kind: TimelineEventKind, text: string): void => {
			row.events.push({ at: this.now(), kind, text });
		};

		watch.on('statechange', ({ to }) => row.states.push({ state: to, at: this.now() }));
		watch.on('connect', ({ timeToConnectMs }) => add('watch', `connect (${timeToConnectMs} ms)`));
		watch.on('disconnect', ({ iceState, graceMs }) => add('watch', `disconnect (${iceState}, grace ${graceMs} ms)`));
		watch.on('reconnect', ({ afterMs, afterRestart }) =>
			add('watch', `reconnect after ${afterMs} ms${afterRestart ? ' (ICE restart)' : ''}`),
		);
		watch.on('icerestart', (event) =>
			add(
				'watch',
				event.outcome === 'granted'
					? 'restartIce() granted'
					: `restartIce() denied: ${event.reason}${event.retryAfterMs === null ? '' : ` (retry after ${event.retryAfterMs} ms)`}`,
			),
		);
		void watch.closed.then((info) => {
			row.endedAt = this.now();
			if (info.reason !== 'stopped') {
				row.closeReason = info.reason;
				row.events.push({
					at: row.endedAt,
					kind: 'verdict',
					text: `close: ${info.reason}${info.closedByWatchdog ? '' : ' (recorded, not caused)'}${info.detail ? ` — ${info.detail}` : ''}`,
				});
			}
		});

		const onIce = (state: string): void => add('mediasoup', `icestatechange ${state}`);
		const onDtls = (state: string): void => add('mediasoup', `dtlsstatechange ${state}`);
		const onTuple = (tuple: { remoteIp?: string; remotePort?: number; protocol?: string }): void =>
			add('mediasoup', `iceselectedtuplechange ${tuple.protocol ?? ''} ${tuple.remoteIp ?? ''}:${tuple.remotePort ?? ''}`);
		const onClose = (): void => {
			observer.off('icestatechange', onIce);
			observer.off('dtlsstatechange', onDtls);
			observer.off('iceselectedtuplechange', onTuple);
			observer.off('close', onClose);
		};
		observer.on('icestatechange', onIce);
		observer.on('dtlsstatechange', onDtls);
		observer.on('iceselectedtuplechange', onTuple);
		observer.on('close', onClose);
		return row;
	}

	/** The whole page. */
	render(options: { title: string; policy: readonly string[]; scenarios: readonly TimelineScenario[] }): string {
		const end = Math.max(
			1,
			...this.rows.flatMap((row) => [row.endedAt ?? 0, ...row.events.map((e) => e.at)]),
			...[...this.actions.values()].flatMap((list) => list.map((e) => e.at)),
		);
		const total = end * 1.02;
		const pct = (ms: number): string => `${((Math.max(0, ms) / total) * 100).toFixed(3)}%`;
		const step = tickStep(total);

		const axis: string[] = [];
		for (let t = 0; t <= total; t += step) {
			axis.push(`<span class="tick" style="left:${pct(t)}">${(t / 1000).toFixed(step < 1000 ? 1 : 0)} s</span>`);
		}

		const marker = (event: TimelineEvent): string =>
			`<span class="ev ${event.kind}" style="left:${pct(event.at)}" title="${esc(`${(event.at / 1000).toFixed(3)} s — ${event.text}`)}"></span>`;

		const groups: string[] = [];
		for (const scenario of options.scenarios) {
			const rows = this.rows.filter((row) => row.scenario === scenario.name);
			const actions = this.actions.get(scenario.name) ?? [];
			const lane = actions.map(marker).join('');
			const labels = actions.map((e) => `<li><b>${(e.at / 1000).toFixed(2)} s</b> ${esc(e.text)}</li>`).join('');
			const transportRows = rows.map((row) => {
				const segments = row.states.map((entry, index) => {
					const until = row.states[index + 1]?.at ?? row.endedAt ?? end;
					const width = Math.max(until - entry.at, 0);
					return `<span class="seg st-${entry.state}" style="left:${pct(entry.at)};width:${pct(width)}" title="${esc(
						`${entry.state} ${(entry.at / 1000).toFixed(3)}–${(until / 1000).toFixed(3)} s`,
					)}"></span>`;
				});
				const events = row.events.map(marker).join('');
				const verdict =
					row.endedAt === undefined
						? ''
						: `<span class="close-label${row.endedAt / total > 0.8 ? ' left' : ''}" style="left:${pct(row.endedAt)}">${esc(row.closeReason ?? 'stopped')}</span>`;
				const log = row.events.map((e) => `<li class="${e.kind}"><b>${(e.at / 1000).toFixed(3)} s</b> ${esc(e.text)}</li>`);
				return `<div class="row transport" data-transport-id="${esc(row.transportId)}" data-scenario="${esc(row.scenario)}" data-close-reason="${esc(
					row.closeReason ?? '',
				)}">
<div class="label">${esc(row.label)}<small>${esc(row.transportId.slice(0, 8))}</small></div>
<div class="track">${segments.join('')}${events}${verdict}</div>
<details class="log"><summary>${row.events.length} events</summary><ul>${log.join('')}</ul></details>
</div>`;
			});
			groups.push(`<section class="scenario ${scenario.match ? 'ok' : 'bad'}" data-scenario="${esc(scenario.name)}">
<div class="row head"><div class="label"><b>${esc(scenario.name)}</b></div>
<div class="track lane">${lane}</div>
<div class="outcome">expected <code>${esc(scenario.expected)}</code> · observed <code>${esc(scenario.observed)}</code> ${
				scenario.match ? '✓' : '✗'
			} · ${esc(scenario.latency)}</div></div>
<p class="summary">${esc(scenario.summary)}</p>
${transportRows.join('\n')}
<details class="log actions"><summary>${actions.length} demo actions</summary><ul>${labels}</ul></details>
</section>`);
		}

		const legend = (['connecting', 'connected', 'disconnected', 'restarting', 'closed'] as const)
			.map((state) => `<span><i class="seg-key st-${state}"></i>${state}</span>`)
			.join('');
		const passed = options.scenarios.filter((s) => s.match).length;
		return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(options.title)}</title>
<style>${CSS}</style></head>
<body>
<h1>${esc(options.title)}</h1>
<p class="meta">${passed}/${options.scenarios.length} verdicts as expected · ${(end / 1000).toFixed(1)} s · policy: ${options.policy
			.map((line) => `<code>${esc(line)}</code>`)
			.join(' ')}</p>
<p class="legend">${legend}<span><i class="ev-key watch"></i>watch event</span><span><i class="ev-key mediasoup"></i>mediasoup event</span><span><i class="ev-key action"></i>demo action</span><span><i class="ev-key verdict"></i>close</span> — hover a mark for details</p>
<div class="row axis"><div class="label"></div><div class="track">${axis.join('')}</div></div>
${groups.join('\n')}
</body></html>
`;
	}
}

function tickStep(totalMs: number): number {
	for (const step of [500, 1_000, 2_000, 5_000, 10_000, 30_000, 60_000]) if (totalMs / step <= 20) return step;
	return 120_000;
}

function esc(text: string): string {
	return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const CSS = `
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#1d2330;background:#fafbfc}
h1{font-size:20px;margin:0 0 4px}
.meta,.legend{color:#555;margin:4px 0}
.legend span{margin-right:14px;white-space:nowrap}
code{background:#eef0f3;padding:0 4px;border-radius:3px;font-size:12px}
.scenario{border:1px solid #d8dde5;border-left:4px solid #3bb273;border-radius:4px;background:#fff;margin:10px 0;padding:6px 8px}
.scenario.bad{border-left-color:#d64545}
.summary{margin:0 0 4px 190px;color:#666;font-size:12px}
.row{display:grid;grid-template-columns:180px 1fr;align-items:center;column-gap:10px;margin:2px 0}
.row.head{grid-template-columns:180px 1fr;}
.row .outcome{grid-column:2;font-size:12px;color:#333}
.row.transport .log{grid-column:2}
.label{font-size:12px;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.label small{color:#999;margin-left:6px}
.track{position:relative;height:22px;background:#f1f3f6;border-radius:3px}
.track.lane{height:12px;background:transparent;border-bottom:1px dashed #ccd}
.axis .track{height:18px;background:transparent}
.tick{position:absolute;top:0;font-size:11px;color:#888;border-left:1px solid #ccc;padding-left:2px;height:18px}
.seg{position:absolute;top:3px;height:16px;border-radius:2px;min-width:1px}
.seg-key{display:inline-block;width:14px;height:10px;margin-right:4px;border-radius:2px;vertical-align:middle}
.st-connecting{background:#f2c14e}.st-connected{background:#3bb273}.st-disconnected{background:#e1701a}
.st-restarting{background:#4f86f7}.st-closed,.st-stopped{background:repeating-linear-gradient(45deg,#ddd,#ddd 3px,#eee 3px,#eee 6px)}
.ev{position:absolute;top:0;width:3px;height:22px;margin-left:-1px;border-radius:1px;opacity:.85}
.lane .ev{height:12px}
.ev-key{display:inline-block;width:4px;height:12px;margin-right:4px;vertical-align:middle}
.watch{background:#1d2330}.mediasoup{background:#8a5cf6}.action{background:#d64545}.verdict{background:#000}
.ev.verdict{width:4px}
span.close-label{position:absolute;top:2px;margin-left:6px;font-size:11px;background:#1d2330;color:#fff;padding:1px 5px;border-radius:3px;white-space:nowrap}
span.close-label.left{transform:translateX(-100%);margin-left:-6px}
details.log{font-size:12px;color:#444;margin:0 0 4px}
details.log.actions{margin-left:190px}
details.log ul{margin:4px 0;padding-left:18px}
li.mediasoup{color:#6b46c1}li.verdict{font-weight:600}
`;
