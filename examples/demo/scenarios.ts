// Each scenario drives a real client into one situation and reports what the watchdog decided.
// The watchdog is used only through its public API, as an application would (the demo reads one
// documented constant of its liveness judge besides, to know how long a silence can take).
import { clearTimeout, setTimeout } from 'node:timers';
import { isIceRestartDeniedError, type ReconnectEvent } from '../../src/index.js';
// The longest bound liveness ever gives a transport (RFC 7675's consent expiry, docs/liveness.md).
import { MAX_BOUND_MS } from '../../src/liveness/judge.js';
import type { Scenario, ScenarioContext, ScenarioOutcome, WatchClose, Watched } from './context.js';
import { HEALTHY_HOLD_MS } from './policy.js';

/**
 * How long past its bound the demo keeps waiting for a verdict before it reports none. Only a
 * wait: whether a verdict came in time is decided by its bound plus the lateness measured.
 */
const SLACK_MS = 10_000;

export const SCENARIO_RUNNERS: Readonly<Record<string, Scenario>> = {
	async 'healthy-call'(ctx) {
		const { watched } = await ctx.launchChromium({ transports: 'both' });
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
		return deadlineClose(ctx, send, send.watchedAt, ctx.policy.connectTimeoutMs);
	},

	async 'clean-hangup'(ctx) {
		const { client, watched } = await ctx.launchChromium({ transports: 'send' });
		const at = ctx.act("the page calls mediasoup-client's transport.close()");
		await client.closeTransports();
		return waitForClose(only(watched), at);
	},

	async 'tab-closed-bound'(ctx) {
		const { client, watched } = await ctx.launchChromium({ transports: 'send' });
		ctx.watchdog.bindSession(ctx.userId, client.socket);
		ctx.act('watchdog.bindSession(userId, webSocket)');
		const at = ctx.act('page.close()');
		await client.closePage();
		return waitForClose(only(watched), at);
	},

	async 'tab-closed-unbound'(ctx) {
		const { client, watched } = await ctx.launchChromium({ transports: 'send' });
		await callInProgress(ctx, only(watched));
		const at = ctx.act('page.close() (no session bound)');
		await client.closePage();
		ctx.status('waiting for silence to be noticed');
		return silenceClose(ctx, only(watched), at);
	},

	async 'browser-killed'(ctx) {
		const { client, watched } = await ctx.launchChromium({ transports: 'send' });
		await callInProgress(ctx, only(watched));
		const at = ctx.act('SIGKILL to every Chromium process');
		await client.kill();
		ctx.status('waiting for silence to be noticed');
		return silenceClose(ctx, only(watched), at);
	},

	async 'restart-granted'(ctx) {
		const { client, watched } = await ctx.launchChromium({ transports: 'send' });
		const send = only(watched);
		const bound = ctx.policy.iceRestart.reconnectTimeoutMs;
		// The page has `reconnectTimeoutMs` to follow: no other client starts meanwhile.
		return ctx.exclusive('restarting ICE', async () => {
			const reconnected = nextReconnect(send);
			const at = ctx.act('watch.restartIce()');
			const iceParameters = await send.watch.restartIce();
			ctx.act("the page calls mediasoup-client's transport.restartIce({ iceParameters })");
			await client.restartIce('send', iceParameters);
			const first = await within(Promise.race([reconnected, send.closed]), bound + SLACK_MS);
			if (!first) return { observed: `none (still ${send.watch.state})`, latencyMs: null, boundMs: bound };
			if ('info' in first) return closeOutcome(first, at, bound);
			return {
				observed: first.event.afterRestart ? 'reconnected' : 'reconnected (not after the restart)',
				latencyMs: first.event.afterMs,
				boundMs: bound,
				timing: {
					what: 'ReconnectEvent.afterMs',
					measuredMs: first.event.afterMs,
					boundMs: bound,
					allowanceMs: ctx.allowance(at),
				},
				note: 'mediasoup reported a new selected tuple',
			};
		});
	},

	async 'restart-before-connect'(ctx) {
		const { watched } = await ctx.launchChromium({ transports: 'send', connect: false });
		return askRestart(ctx, only(watched), 'watch.restartIce() before the first connection');
	},

	async 'restart-rate-limited'(ctx) {
		const { client, watched } = await ctx.startWerift();
		keepTalking(ctx, client);
		ctx.act('restartIce() #1');
		const iceParameters = await watched.watch.restartIce();
		ctx.act('werift applies the new ICE parameters');
		await client.restartIce(iceParameters, { waitMs: 1_000 });
		return askRestart(ctx, watched, 'restartIce() #2, right after the first');
	},

	async 'restart-not-followed'(ctx) {
		const { client, watched } = await ctx.startWerift();
		ctx.act('watch.restartIce()');
		const iceParameters = await watched.watch.restartIce();
		// The restart's deadline runs from the grant (mediasoup's new ICE parameters), not the ask.
		const grantedAt = ctx.act('restart granted; werift takes the new ICE parameters but sends no checks with them');
		await client.restartIce(iceParameters, { kick: false, waitMs: 0 });
		return deadlineClose(ctx, watched, grantedAt, ctx.policy.iceRestart.reconnectTimeoutMs, true);
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

/** How long the page's first RTP may take to reach the server once DTLS is connected. */
const FIRST_RTP_WAIT_MS = 10_000;

/**
 * Holds the call until the page's RTP reaches the server and the watchdog has polled the
 * transport a few times since: the client that then vanishes left a call in progress, not a
 * transport still setting up (the watchdog judges one that never carried media by the standards'
 * slowest clients, up to a minute).
 */
async function callInProgress(ctx: ScenarioContext, watched: Watched): Promise<void> {
	ctx.status("waiting for the page's media to reach the server");
	const deadline = performance.now() + FIRST_RTP_WAIT_MS;
	for (;;) {
		const [stats] = await watched.transport.getStats();
		if ((stats?.rtpBytesReceived ?? 0) > 0) break;
		if (performance.now() > deadline) throw new Error(`no RTP from the page reached the server within ${FIRST_RTP_WAIT_MS} ms`);
		await sleep(50);
	}
	const holdMs = 3 * ctx.watchdog.snapshot().liveness.pollIntervalMs;
	ctx.act(`media flowing; the call goes on for ${holdMs} ms (${holdMs / ctx.watchdog.snapshot().liveness.pollIntervalMs} polls)`);
	await sleep(holdMs);
}

function sleep(ms: number): Promise<void> {
	return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The close of `watched` (any reason), waited for up to SLACK_MS after `since`; no bound to hold it to. */
async function waitForClose(watched: Watched, since: number): Promise<ScenarioOutcome> {
	const closed = await within(watched.closed, SLACK_MS - (performance.now() - since));
	if (!closed) return { observed: `none (still ${watched.watch.state})`, latencyMs: null, boundMs: null };
	return closeOutcome(closed, since, null);
}

/**
 * A close a deadline of `boundMs` from `since` must bring: its latency is held to the deadline.
 * With `readsStats`, the watchdog reads the transport's stats when the deadline comes (a restart's
 * deadline, while ICE is still up, asks whether the client is alive on its old credentials) and
 * decides on the answer: the demo then reads them too at that moment, and that round trip, as this
 * machine served it, is allowed on top.
 */
async function deadlineClose(
	ctx: ScenarioContext,
	watched: Watched,
	since: number,
	boundMs: number,
	readsStats = false,
): Promise<ScenarioOutcome> {
	const atDeadline = readsStats ? statsAtDeadline(watched, since + boundMs) : Promise.resolve(0);
	const closed = await within(watched.closed, boundMs + SLACK_MS - (performance.now() - since));
	if (!closed) return { observed: `none (still ${watched.watch.state})`, latencyMs: null, boundMs };
	const outcome = closeOutcome(closed, since, boundMs);
	const latencyMs = closed.at - since;
	const allowanceMs = Math.max(ctx.allowance(since, closed.at), await atDeadline) + TIMER_RESOLUTION_MS;
	return { ...outcome, timing: { what: 'latency', measuredMs: latencyMs, boundMs, allowanceMs } };
}

/**
 * Node's timers count whole milliseconds of a loop clock read once per loop turn, so the watchdog's
 * deadline timer and the demo's own, due at the same moment, can fire up to 1 ms apart: a deadline
 * close is allowed that much on top of the lateness measured.
 */
const TIMER_RESOLUTION_MS = 1;

/** How late a timer due at `dueAt` fired plus a getStats() round trip of the transport then, in ms. */
async function statsAtDeadline(watched: Watched, dueAt: number): Promise<number> {
	await sleep(Math.max(0, dueAt - performance.now()));
	await watched.transport.getStats().catch(() => {}); // closed meanwhile: the round trip ends there
	return performance.now() - dueAt;
}

/**
 * The `inactive` close that silence since `since` must bring. Its bound is the transport's own,
 * which the watchdog states in the close's detail: `inactivityTimeoutMs`, or more for a client it
 * has seen stay silent longer while alive (at most MAX_BOUND_MS), plus a poll period; so the wait
 * covers the longest bound there can be. The watchdog's own detectionMs (from the last sign of
 * life to its decision) is held to it.
 */
async function silenceClose(ctx: ScenarioContext, watched: Watched, since: number): Promise<ScenarioOutcome> {
	const period = ctx.watchdog.snapshot().liveness.pollIntervalMs;
	const longest = MAX_BOUND_MS + 2 * period;
	const closed = await within(watched.closed, longest + SLACK_MS);
	if (!closed) return { observed: `none (still ${watched.watch.state})`, latencyMs: null, boundMs: null };
	const stated = /\(bound (\d+) ms, polled every (\d+) ms\)/.exec(closed.info.detail ?? '');
	const boundMs = stated
		? detectionBound(Number(stated[1]), Number(stated[2]))
		: ctx.watchdog.snapshot().liveness.detectionBoundMs;
	const outcome = closeOutcome(closed, since, boundMs);
	const { detectionMs } = closed.info;
	if (closed.info.reason !== 'inactive' || detectionMs === null) return outcome;
	return {
		...outcome,
		timing: {
			what: 'CloseInfo.detectionMs',
			measuredMs: detectionMs,
			boundMs,
			allowanceMs: ctx.allowance(closed.at - detectionMs, closed.at),
		},
	};
}

/**
 * The latest a silence of `boundMs` is noticed when each transport is polled every `periodMs`: the
 * bound (the deciding poll comes when it ends), or a period when that is longer, plus the period
 * the last sign may have come in just after a poll (as `snapshot().liveness.detectionBoundMs`
 * computes it for `inactivityTimeoutMs`).
 */
function detectionBound(boundMs: number, periodMs: number): number {
	return Math.round(Math.max(boundMs, periodMs) + periodMs);
}

function closeOutcome(closed: WatchClose, since: number | null, boundMs: number | null): ScenarioOutcome {
	const { info, at } = closed;
	return {
		observed: info.reason,
		latencyMs: since === null ? null : at - since,
		boundMs,
		detectionMs: info.detectionMs,
		clean: info.clean,
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
