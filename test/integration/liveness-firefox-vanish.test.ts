// Firefox ESR users who leave, against the real worker of this run (3.12.16 or 3.27.1, whose own
// consent check stays on at its default 30 s), under the default policy, on their own ports and on
// a WebRtcServer (the worker in a network namespace of the test's own):
//   - every Firefox process SIGKILLed (frozen first) while sending audio: nothing reaches the
//     server, so liveness must close every transport of theirs `inactive`, the senders within
//     their bound (8 s for a client that was sending) plus two poll periods of their last packet;
//   - mediasoup-client `transport.close()` in the page: DTLS close_notify, closed `dtls-closed`
//     within a few hundred milliseconds.
// The test prints the detection times, measured from the last growth of bytesReceived that its own
// 100 ms probe saw.
import { describe, expect, it } from 'vitest';
import { type CloseInfo, DEFAULT_POLICY, type TransportWatch } from '../../src/index.js';
import { CADENCE_WINDOW_MS, MAX_BOUND_MS } from '../../src/liveness/judge.js';
import {
	type FirefoxClient,
	type FirefoxClientOptions,
	type FirefoxClients,
	launchFirefoxClients,
} from '../helpers/firefox/harness.js';
import { createDirectSilentProducer, probeTransport, type TransportProbe, useFirefoxSfu } from '../helpers/firefox/sfu.js';
import { workerLabel } from '../helpers/mediasoup.js';

const T = DEFAULT_POLICY.inactivityTimeoutMs;
const P = DEFAULT_POLICY.liveness.pollIntervalMs;
/** Timer lateness and a getStats() round trip on a shared 2-core machine. */
const SLACK_MS = 1_000;
/**
 * Packets the probe sees this long after every Firefox process was frozen may still be the
 * client's (in flight). The freeze itself comes after kill() has read the process table, which
 * took over 400 ms on a busy machine: the cut is counted from the freeze, not from the call.
 */
const KILL_IN_FLIGHT_MS = 250;
/** Audio flows this long before the kill. */
const SENDING_FOR_MS = 12_000;
/** Idle clients are killed after this long: past the judge's 30 s cadence window. */
const IDLE_BEFORE_KILL_MS = CADENCE_WINDOW_MS + 6_000;

const sfu = useFirefoxSfu(); // the default policy

interface Watched {
	name: string;
	client: FirefoxClient;
	watch: TransportWatch;
	probe: TransportProbe;
	closing: Promise<{ at: number; info: CloseInfo }>;
}

/** Opens a client in `firefox` whose server transport is watched (and probed) from its creation. */
async function openWatched(
	firefox: FirefoxClients,
	name: string,
	options: Omit<FirefoxClientOptions, 'address' | 'webRtcServer' | 'onTransport'> & { onServer: boolean },
): Promise<Watched> {
	let watched: Omit<Watched, 'client'> | undefined;
	const { onServer, ...clientOptions } = options;
	const client = await firefox.open(sfu.router, {
		...clientOptions,
		address: sfu.netns.address,
		...(onServer ? { webRtcServer: sfu.webRtcServer } : {}),
		onTransport: (transport) => {
			const watch = sfu.watchdog.watch(transport, { worker: sfu.worker, userId: name });
			const closing = new Promise<{ at: number; info: CloseInfo }>((resolve) => {
				watch.on('close', (info) => resolve({ at: performance.now(), info }));
			});
			watched = { name, watch, probe: probeTransport(transport, 100), closing };
		},
	});
	if (!watched) throw new Error('onTransport was not called');
	return { ...watched, client };
}

/**
 * SIGKILLs every process of `firefox` (frozen first), waits for every watched transport to close
 * and returns, per transport, the close and the times measured from the test's own probe.
 */
async function killAndReport(firefox: FirefoxClients, watched: Watched[], tag: string) {
	const killedAt = performance.now();
	const { frozenAt } = await firefox.kill();
	const killTookMs = performance.now() - killedAt;
	const closes = await Promise.all(watched.map((w) => w.closing));
	const report = watched.map((w, i) => {
		const { at, info } = closes[i] as { at: number; info: CloseInfo };
		// In-flight packets may still arrive just after the freeze; nothing later is the client's.
		const lastPacketAt = w.probe.lastSignAt(frozenAt + KILL_IN_FLIGHT_MS);
		w.probe.stop(killedAt);
		return {
			case: w.name,
			reason: info.reason,
			closedByWatchdog: info.closedByWatchdog,
			detail: info.detail,
			boundMs: boundOf(info.detail),
			detectionMs: info.detectionMs,
			fromLastPacketMs: Math.round(at - lastPacketAt),
			fromKillMs: Math.round(at - killedAt),
			lastPacketBeforeKillMs: Math.round(killedAt - lastPacketAt),
		};
	});
	for (const line of report) console.log(`[${tag}] ${workerLabel} ${JSON.stringify(line)}`);
	console.log(
		`[${tag}] ${workerLabel} kill took ${Math.round(killTookMs)} ms, all frozen after ${Math.round(frozenAt - killedAt)} ms`,
	);
	expect(Object.fromEntries(report.map((r) => [r.case, [r.reason, r.closedByWatchdog]]))).toEqual(
		Object.fromEntries(watched.map((w) => [w.name, ['inactive', true]])),
	);
	for (const r of report) {
		// The watchdog's own account agrees with the test's probe: its last sign of life is the
		// first poll after the last packet (up to P later), and it closes at the first poll past
		// the bound (up to P more).
		expect(r.boundMs, `${r.case}: ${r.detail}`).toBeDefined();
		expect(r.fromLastPacketMs, r.case).toBeLessThanOrEqual((r.boundMs ?? 0) + 2 * P + SLACK_MS);
		expect(r.fromLastPacketMs, r.case).toBeGreaterThanOrEqual((r.boundMs ?? 0) - SLACK_MS);
	}
	return report;
}

/** The bound in an `inactive` close's detail (`… (bound 8000 ms, polled every 2000 ms)`). */
function boundOf(detail: string | undefined): number | undefined {
	const match = /bound (\d+) ms/.exec(detail ?? '');
	return match ? Number(match[1]) : undefined;
}

describe(`Firefox ESR users who leave (${workerLabel})`, () => {
	it("closes every transport of a SIGKILLed Firefox that was sending audio `inactive`, the senders at the policy's 8 s bound, each within its bound plus two poll periods of its last packet", async () => {
		const firefox = await launchFirefoxClients();
		const watched: Watched[] = [];
		for (const onServer of [false, true]) {
			const where = onServer ? 'WebRtcServer' : 'own port';
			const sender = await openWatched(firefox, `send audio (${where})`, { direction: 'send', audio: {}, onServer });
			watched.push(sender);
			await sender.client.waitForConnected();
			const receiver = await openWatched(firefox, `recv audio (${where})`, {
				direction: 'recv',
				onServer,
				consume: sender.client.producers,
			});
			watched.push(receiver);
		}
		await Promise.all(watched.map((w) => w.client.waitForConnected()));
		await new Promise((resolve) => setTimeout(resolve, SENDING_FOR_MS));
		for (const w of watched) {
			const [stats] = await w.client.transport.getStats();
			const rtp = w.name.startsWith('send') ? stats?.rtpBytesReceived : stats?.rtpBytesSent;
			expect(rtp ?? 0, `${w.name}: audio flowed before the kill`).toBeGreaterThan(0);
			expect(w.watch.state, w.name).toBe('connected');
		}

		const report = await killAndReport(firefox, watched, 'firefox-vanish');
		// A client that was sending audio is judged at the policy's timeout.
		for (const r of report.filter((x) => x.case.startsWith('send'))) expect(r.boundMs, r.case).toBe(T);
	}, 120_000);

	it('closes every transport of a SIGKILLed idle Firefox (DataChannel-only, a silent producer consumed, a microphone muted with zeroRtpOnPause) `inactive` at the bound it learned from the idle client', async () => {
		const silent = await createDirectSilentProducer(sfu.router, 22_222_222);
		const firefox = await launchFirefoxClients();
		const watched: Watched[] = [];
		for (const onServer of [false, true]) {
			const where = onServer ? 'WebRtcServer' : 'own port';
			watched.push(await openWatched(firefox, `data idle (${where})`, { direction: 'send', data: true, onServer }));
			watched.push(
				await openWatched(firefox, `recv, silent producer (${where})`, { direction: 'recv', consume: [silent], onServer }),
			);
			watched.push(
				await openWatched(firefox, `mic muted (${where})`, { direction: 'send', audio: { zeroRtpOnPause: true }, onServer }),
			);
		}
		await Promise.all(watched.map((w) => w.client.waitForConnected()));
		for (const w of watched.filter((x) => x.name.startsWith('mic muted'))) {
			const producer = w.client.producers[0];
			if (!producer) throw new Error(`${w.name}: no producer`);
			await new Promise((resolve) => setTimeout(resolve, 1_000));
			await w.client.pauseProducerInPage(producer.id);
		}
		// Idle past the judge's cadence window, so each bound is the one learned from the client.
		await new Promise((resolve) => setTimeout(resolve, IDLE_BEFORE_KILL_MS));
		for (const w of watched) expect(w.watch.state, w.name).toBe('connected');

		const report = await killAndReport(firefox, watched, 'firefox-vanish-idle');
		// Learned from Firefox's own cadence (consent every ~5 s, RTCP), never the 60 s of a client
		// whose cadence is unknown.
		for (const r of report) expect(r.boundMs, `${r.case}: ${r.detail}`).toBeLessThan(MAX_BOUND_MS);
	}, 150_000);

	it('closes a transport that Firefox closes cleanly (mediasoup-client transport.close(): DTLS close_notify) `dtls-closed` within a few hundred ms', async () => {
		const firefox = await launchFirefoxClients();
		const watched: Watched[] = [];
		for (const onServer of [false, true]) {
			const w = await openWatched(firefox, `send audio (${onServer ? 'WebRtcServer' : 'own port'})`, {
				direction: 'send',
				audio: {},
				onServer,
			});
			await w.client.waitForConnected();
			watched.push(w);
		}
		await new Promise((resolve) => setTimeout(resolve, 2_000));
		const report: Array<Record<string, unknown>> = [];
		for (const w of watched) {
			const asked = performance.now();
			await w.client.closeTransport();
			const { at, info } = await w.closing;
			w.probe.stop(asked);
			report.push({ case: w.name, reason: info.reason, clean: info.clean, closeMs: Math.round(at - asked) });
		}
		for (const line of report) console.log(`[firefox-close] ${workerLabel} ${JSON.stringify(line)}`);
		expect(report.map((r) => [r.case, r.reason, r.clean])).toEqual(watched.map((w) => [w.name, 'dtls-closed', true]));
		for (const r of report) expect(r.closeMs, String(r.case)).toBeLessThan(1_000);
	}, 90_000);
});
