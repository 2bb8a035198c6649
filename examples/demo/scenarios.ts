// Each scenario drives a real client into one situation and reports what the watchdog decided.
// The watchdog is used only through its public API, as an application would.
import { clearTimeout, setTimeout } from 'node:timers';
import { isIceRestartDeniedError, type ReconnectEvent } from '../../src/index.js';
import type { Scenario, ScenarioContext, ScenarioOutcome, Watched } from './context.js';
import { HEALTHY_HOLD_MS } from './policy.js';

/** Extra time a verdict may take beyond its bound before the scenario gives up waiting. */
const SLACK_MS = 6_000;

export const SCENARIO_RUNNERS: Readonly<Record<string, Scenario>> = {
	async 'healthy-call'(ctx) {
		const { client, watched } = await ctx.launchChromium({ transports: 'both' });
		await client.waitForConnected();
		ctx.act(`connected; holding the call for ${HEALTHY_HOLD_MS / 1000} s`);
		const all = [...watched.values()];
		const closed = await within(Promise.race(all.map((w) => w.closed)), HEALTHY_HOLD_MS);
		if (closed) return closeOutcome(closed, null, null);
		const states = all.map((w) => w.watch.state);
		ctx.act('hang up: watchdog.closeUser()');
		ctx.watchdog.closeUser(ctx.userId, 'the demo ended the call');
		return {
			observed: states.every((state) => state === 'connected') ? 'connected' : states.join('+'),
			latencyMs: null,
			boundMs: null,
			note: `${all.length} transports connected for ${HEALTHY_HOLD_MS} ms`,
		};
	},

	async 'never-connected'(ctx) {
		const { watched } = await ctx.launchChromium({ transports: 'send', connect: false });
		const send = only(watched);
		ctx.status('transport created, the page never connects it');
		const bound = ctx.policy.connectTimeoutMs;
		return waitForClose(send, send.watchedAt, bound);
	},

	async 'clean-hangup'(ctx) {
		const { client, watched } = await ctx.launchChromium({ transports: 'send' });
		await client.waitForConnected();
		const at = ctx.act("the page calls mediasoup-client's transport.close()");
		await client.closeTransports();
		return waitForClose(only(watched), at, null);
	},

	async 'tab-closed-bound'(ctx) {
		const { client, watched } = await ctx.launchChromium({ transports: 'send' });
		await client.waitForConnected();
		ctx.watchdog.bindSession(ctx.userId, client.socket);
		ctx.act('watchdog.bindSession(userId, webSocket)');
		const at = ctx.act('page.close()');
		await client.closePage();
		return waitForClose(only(watched), at, null);
	},

	async 'tab-closed-unbound'(ctx) {
		const { client, watched } = await ctx.launchChromium({ transports: 'send' });
		await client.waitForConnected();
		const bound = ctx.watchdog.snapshot().liveness.detectionBoundMs;
		const at = ctx.act('page.close() (no session bound)');
		await client.closePage();
		ctx.status('waiting for silence to be noticed');
		return waitForClose(only(watched), at, bound);
	},

	async 'browser-killed'(ctx) {
		const { client, watched } = await ctx.launchChromium({ transports: 'send' });
		await client.waitForConnected();
		const bound = ctx.watchdog.snapshot().liveness.detectionBoundMs;
		const at = ctx.act('SIGKILL to every Chromium process');
		await client.kill();
		ctx.status('waiting for silence to be noticed');
		return waitForClose(only(watched), at, bound);
	},

	async 'restart-granted'(ctx) {
		const { client, watched } = await ctx.launchChromium({ transports: 'send' });
		await client.waitForConnected();
		const send = only(watched);
		const reconnected = nextReconnect(send);
		const at = ctx.act('watch.restartIce()');
		const iceParameters = await send.watch.restartIce();
		ctx.act("the page calls mediasoup-client's transport.restartIce({ iceParameters })");
		await client.restartIce('send', iceParameters);
		const bound = ctx.policy.iceRestart.reconnectTimeoutMs;
		const first = await within(Promise.race([reconnected, send.closed]), bound + SLACK_MS);
		if (!first) return { observed: `none (still ${send.watch.state})`, latencyMs: null, boundMs: bound };
		if ('info' in first) return closeOutcome(first, at, bound);
		return {
			observed: first.event.afterRestart ? 'reconnected' : 'reconnected (not after the restart)',
			latencyMs: first.event.afterMs,
			boundMs: bound,
			note: 'mediasoup reported a new selected tuple',
		};
	},

	async 'restart-before-connect'(ctx) {
		const { watched } = await ctx.launchChromium({ transports: 'send', connect: false });
		return askRestart(ctx, only(watched), 'watch.restartIce() before the first connection');
	},

	async 'restart-rate-limited'(ctx) {
		const { client, watched } = await ctx.startWerift();
		await client.waitForConnected();
		keepTalking(ctx, client);
		ctx.act('restartIce() #1');
		const iceParameters = await watched.watch.restartIce();
		ctx.act('werift applies the new ICE parameters');
		await client.restartIce(iceParameters, { waitMs: 1_000 });
		return askRestart(ctx, watched, 'restartIce() #2, right after the first');
	},

	async 'restart-not-followed'(ctx) {
		const { client, watched } = await ctx.startWerift();
		await client.waitForConnected();
		const at = ctx.act('watch.restartIce()');
		const iceParameters = await watched.watch.restartIce();
		ctx.act('werift takes the new ICE parameters but sends no checks with them');
		await client.restartIce(iceParameters, { kick: false, waitMs: 0 });
		return waitForClose(watched, at, ctx.policy.iceRestart.reconnectTimeoutMs);
	},
};

/* ------------------------------------------------------------------ helpers */

/** The one watched transport of a single-transport client. */
function only(watched: Map<string, Watched>): Watched {
	const [first, ...rest] = watched.values();
	if (!first || rest.length > 0) throw new Error(`expected one watched transport, got ${watched.size}`);
	return first;
}

/** `promise`'s value, or undefined after `ms` (the timer is cleared either way). */
async function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
	let timer: NodeJS.Timeout | undefined;
	try {
		return await Promise.race([
			promise,
			new Promise<undefined>((resolve) => {
				timer = setTimeout(() => resolve(undefined), ms);
			}),
		]);
	} finally {
		clearTimeout(timer);
	}
}

async function waitForClose(watched: Watched, since: number, boundMs: number | null): Promise<ScenarioOutcome> {
	const closed = await within(watched.closed, (boundMs ?? 0) + SLACK_MS);
	if (!closed) return { observed: `none (still ${watched.watch.state})`, latencyMs: null, boundMs };
	return closeOutcome(closed, since, boundMs);
}

function closeOutcome(closed: Awaited<Watched['closed']>, since: number | null, boundMs: number | null): ScenarioOutcome {
	const { info, at } = closed;
	return {
		observed: info.reason,
		latencyMs: since === null ? null : at - since,
		boundMs,
		detectionMs: info.detectionMs,
		...(info.detail ? { note: info.detail } : {}),
	};
}

function nextReconnect(watched: Watched): Promise<{ event: ReconnectEvent }> {
	return new Promise((resolve) => {
		watched.watch.once('reconnect', (event) => resolve({ event }));
	});
}

async function askRestart(ctx: ScenarioContext, watched: Watched, action: string): Promise<ScenarioOutcome> {
	const at = ctx.act(action);
	try {
		await watched.watch.restartIce();
		return { observed: 'granted', latencyMs: performance.now() - at, boundMs: null };
	} catch (error) {
		if (!isIceRestartDeniedError(error)) throw error;
		return {
			observed: `denied:${error.reason}`,
			latencyMs: performance.now() - at,
			boundMs: null,
			note: error.retryAfterMs === null ? error.message : `retry after ${error.retryAfterMs} ms`,
		};
	}
}

/** Echoes a message through the worker every second, as a data call would, until the scenario ends. */
function keepTalking(ctx: ScenarioContext, client: { echo(text: string, timeoutMs?: number): Promise<number> }): void {
	let stopped = false;
	let timer: NodeJS.Timeout | undefined;
	const tick = (): void => {
		if (stopped) return;
		client
			.echo('ping', 900)
			.catch(() => {})
			.finally(() => {
				if (!stopped) timer = setTimeout(tick, 1_000);
			});
	};
	tick();
	ctx.defer(() => {
		stopped = true;
		clearTimeout(timer);
	});
}
