// The consent hint with the real worker: mediasoup 3.13.20+ turns a transport whose client stopped
// sending consent checks ICE `'disconnected'` by itself (`iceConsentTimeout`), with no request from
// Node. The watch leaves `connected` then, and that hints the user's other transports: they are
// polled out of turn, and only the judge decides what happens to them.
//
// One user with two real werift peers (separate processes, a consent check every 4–6 s, DataChannel
// only): one is SIGKILLed (its transport's consent at 10 s), the other stays. The round-robin comes
// by every 16 s here (a stand-in for a busy worker's pace). The kill comes right after the live
// sibling's first poll, so the worker's `'disconnected'` (at most 10 s later) comes before the
// sibling's next turn: its poll right after the `'disconnected'` is the hint's. Growth since the
// poll before proves nothing after the hint (it may predate it), so the sibling stays in the
// priority lane until the judge's next poll, which shows the consent checks it sent since: it
// leaves the lane, and stays connected.
//
// Runs in the mediasoup-3.27 vitest project only (vitest.config.ts leaves mediasoup-327-* out of
// mediasoup-3.12): mediasoup 3.12.16 has no worker-side consent check.
import { describe, expect, it } from 'vitest';
import type { CloseInfo, TransportWatch } from '../../src/index.js';
import { createTestTransport, hasWorkerConsent, type WebRtcTransport, workerLabel } from '../helpers/mediasoup.js';
import { useMediasoup } from '../helpers/mediasoup-fixture.js';
import { recordPolls } from '../helpers/watch-probes.js';
import { closeAllWeriftClients, spawnWeriftClient, type WeriftClient } from '../helpers/werift/harness.js';

if (!hasWorkerConsent)
	throw new Error(`${workerLabel} has no worker-side ICE consent (3.13.20+): run this file in mediasoup-3.27`);

const POLL_MS = 16_000;
/** The consent timeout of the peer that vanishes, in seconds (mediasoup's minimum). */
const CONSENT_S = 10;
/** Timer lateness on a shared 2-core machine, the SIGKILL reaching the child, one worker timer tick. */
const SLACK_MS = 1_000;

const sfu = useMediasoup({ watchdog: { liveness: { pollIntervalMs: POLL_MS } }, closeClients: [closeAllWeriftClients] });

interface Peer {
	transport: WebRtcTransport;
	watch: TransportWatch;
	client: WeriftClient;
	/** performance.now() of each getStats() the watchdog sent on the transport. */
	polls: number[];
	/** performance.now() of every ICE state the worker reported. */
	ice: Array<{ state: string; at: number }>;
	closed?: { at: number; info: CloseInfo };
}

async function startPeer(userId: string, iceConsentTimeout: number): Promise<Peer> {
	// Spawned before the transport exists: the spawn is the harness's cost, not the client's.
	const werift = await spawnWeriftClient();
	const transport = await createTestTransport(sfu.router, { enableSctp: true, iceConsentTimeout });
	const polls = recordPolls(transport);
	const ice: Peer['ice'] = [];
	transport.on('icestatechange', (state) => ice.push({ state, at: performance.now() }));
	const watch = sfu.watchdog.watch(transport, { worker: sfu.worker, userId });
	const client = await werift.connect({ transport });
	const peer: Peer = { transport, watch, client, polls, ice };
	watch.on('close', (info) => {
		peer.closed = { at: performance.now(), info };
	});
	await client.waitForConnected();
	return peer;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe(`the consent hint with the real worker (${workerLabel})`, () => {
	it("a peer the worker turns ICE 'disconnected' (consent) has its live sibling polled out of turn, and the sibling stays connected", async () => {
		const [leaving, staying] = await Promise.all([startPeer('ivy', CONSENT_S), startPeer('ivy', 30)]);
		// Transports that connect together have their first polls spread over a period: the kill comes
		// once the live sibling had its first, so its next turn is a whole period away.
		const firstPollBy = performance.now() + POLL_MS + 2_000;
		while (staying.polls.length === 0 && performance.now() < firstPollBy) await sleep(20);
		const [firstPoll] = staying.polls;
		if (firstPoll === undefined) expect.fail(`the live sibling was not polled within ${POLL_MS} ms`);
		for (const peer of [leaving, staying]) expect(peer.watch.state).toBe('connected');
		const before = sfu.watchdog.snapshot().liveness.workers[0];
		expect(before?.hints.sibling).toBe(0);

		const killedAt = performance.now();
		leaving.client.kill();
		const deadline = killedAt + CONSENT_S * 1_000 + 5_000;
		let down: { state: string; at: number } | undefined;
		while (!down && performance.now() < deadline) {
			await sleep(50);
			down = leaving.ice.find((e) => e.state === 'disconnected' && e.at >= killedAt);
		}
		if (!down) expect.fail(`${workerLabel}: no ICE 'disconnected' ${deadline - killedAt} ms after the kill`);
		// The hinted poll, then the judge's next one (at most a period later), answered and judged.
		const hintedBy = down.at + 2_000;
		while (!staying.polls.some((t) => t >= (down?.at as number)) && performance.now() < hintedBy) await sleep(20);
		const hinted = staying.polls.find((t) => t >= (down?.at as number));
		const hintedLane = sfu.watchdog.snapshot().liveness.workers[0]?.hinted;
		const nextBy = (hinted ?? performance.now()) + POLL_MS + 2_000;
		while (!staying.polls.some((t) => t > (hinted ?? Number.POSITIVE_INFINITY)) && performance.now() < nextBy) await sleep(20);
		const next = staying.polls.find((t) => t > (hinted ?? Number.POSITIVE_INFINITY));
		await sleep(1_000);
		const after = sfu.watchdog.snapshot().liveness.workers[0];
		const figures = {
			disconnectedAfterKillMs: Math.round(down.at - killedAt),
			killAfterSiblingFirstPollMs: Math.round(killedAt - firstPoll),
			siblingPolledAfterItsFirstPollMs: hinted === undefined ? undefined : Math.round(hinted - firstPoll),
			leaving: { state: leaving.watch.state, reason: leaving.closed?.info.reason },
			siblingPolledAfterDisconnectMs: hinted === undefined ? undefined : Math.round(hinted - down.at),
			siblingInPriorityLaneAfterHintedPoll: hintedLane,
			siblingNextPollAfterHintedMs: next === undefined || hinted === undefined ? undefined : Math.round(next - hinted),
			siblingPolls: staying.polls.length,
			sibling: { state: staying.watch.state, ice: staying.ice.map((e) => e.state) },
			worker: after,
		};
		console.log(JSON.stringify(figures));
		// The worker's own verdict: within its consent timeout of the last check, at most one
		// consent interval before the kill.
		expect(figures.disconnectedAfterKillMs).toBeLessThanOrEqual(CONSENT_S * 1_000 + SLACK_MS);
		// The hint: the live sibling polled right after it, before the round-robin's next turn.
		expect(figures.siblingPolledAfterDisconnectMs).toBeDefined();
		expect(figures.siblingPolledAfterDisconnectMs as number).toBeLessThan(500);
		expect(figures.siblingPolledAfterItsFirstPollMs as number).toBeLessThan(POLL_MS);
		expect(after?.hints.sibling).toBeGreaterThanOrEqual(1);
		expect(after?.hintPolls).toBeGreaterThanOrEqual(1);
		// It stays in the priority lane until the judge's next poll, which shows the consent checks
		// sent since the hinted one: the judge's verdict is alive, so it leaves the lane, and stays connected.
		expect(hintedLane).toBe(1);
		expect(figures.siblingNextPollAfterHintedMs).toBeDefined();
		expect(after?.hinted).toBe(0);
		expect(staying.watch.state).toBe('connected');
		expect(staying.closed).toBeUndefined();
		expect(figures.sibling.ice).not.toContain('disconnected');
		// The vanished peer left `connected` on the worker's verdict.
		expect(leaving.watch.state).not.toBe('connected');
	}, 120_000);
});
