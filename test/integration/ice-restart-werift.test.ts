// ICE restarts with werift as a second real client (data-only transport, real mediasoup 3.12.16
// worker). What werift adds over Chromium: it follows a restart from the SAME tuple, which the
// server cannot see at all (no ICE, tuple or DTLS event), and, without the `iceTransport.start()`
// kick werift 0.24–0.25 needs, it applies the new credentials yet never sends another check: a live
// client that does not follow the restart and is not alive on the old credentials either.
import { describe, expect, it } from 'vitest';
import type { TransportWatch, WatchdogPolicyOptions } from '../../src/index.js';
import { createWatchdog } from '../../src/watchdog.js';
import { createTestTransport, type WebRtcTransport } from '../helpers/mediasoup.js';
import { useMediasoup } from '../helpers/mediasoup-fixture.js';
import { type EventLog, recordEvents } from '../helpers/watch-events.js';
import { closeAllWeriftClients, startWeriftClient, type WeriftClient } from '../helpers/werift/harness.js';

const sfu = useMediasoup({ closeClients: [closeAllWeriftClients] });

const POLICY: WatchdogPolicyOptions = {
	inactivityTimeoutMs: Number.POSITIVE_INFINITY,
	connectTimeoutMs: 30_000,
	iceRestart: { reconnectTimeoutMs: 2_000 },
};

async function connectedWerift(): Promise<{
	client: WeriftClient;
	transport: WebRtcTransport;
	watch: TransportWatch<WebRtcTransport>;
	events: EventLog;
}> {
	const transport = await createTestTransport(sfu.router, { enableSctp: true, appData: { userId: 'wendy' } });
	const watch = createWatchdog(POLICY).watch(transport);
	const events = recordEvents(watch);
	const client = await startWeriftClient({ transport });
	await client.waitForConnected();
	expect(watch.state).toBe('connected');
	return { client, transport, watch, events };
}

function settled(watch: TransportWatch<WebRtcTransport>, timeoutMs: number): Promise<string> {
	return new Promise((resolve, reject) => {
		const timer = setTimeout(() => reject(new Error(`still ${watch.state} after ${timeoutMs} ms`)), timeoutMs);
		const onState = ({ to }: { to: string }): void => {
			if (to === 'restarting') return;
			clearTimeout(timer);
			watch.off('statechange', onState);
			resolve(to);
		};
		watch.on('statechange', onState);
	});
}

describe('werift', () => {
	it('follows a granted restart from the same tuple, which the server cannot see: the watch returns to `connected` at the deadline, alive', async () => {
		const { client, transport, watch, events } = await connectedWerift();
		const serverEventsBefore = client.serverEvents.length;
		const grantedAt = performance.now();
		const iceParameters = await watch.restartIce();
		expect(watch.state).toBe('restarting');
		const backTo = settled(watch, 5_000);
		const result = await client.restartIce({ ...iceParameters }, { kick: true, waitMs: 2_000 });
		expect(result.iceStatesAfter).toEqual(['connected']);
		expect(result.startErrors).toEqual([]);
		expect(await backTo).toBe('connected');
		const tookMs = performance.now() - grantedAt;
		// No event at all on the server: the restart is followed invisibly, so no `reconnect` either.
		expect(client.serverEvents.slice(serverEventsBefore)).toEqual([]);
		expect(events.of('reconnect')).toEqual([]);
		expect(tookMs).toBeGreaterThanOrEqual(2_000);
		expect(tookMs).toBeLessThan(3_500);
		expect(watch.closeReason).toBeUndefined();
		// Data still flows through the worker on the restarted ICE.
		expect(await client.echo('after the restart')).toBeGreaterThan(0);
		expect(transport.closed).toBe(false);
	});

	it('ends in `restart-timeout` when werift applies the new parameters but never checks again (no start() kick), though its process lives', async () => {
		const { client, transport, watch } = await connectedWerift();
		const grantedAt = performance.now();
		const iceParameters = await watch.restartIce();
		await client.restartIce({ ...iceParameters }, { kick: false, waitMs: 0 });
		const info = await watch.closed;
		const tookMs = performance.now() - grantedAt;
		expect(info).toMatchObject({ reason: 'restart-timeout', clean: false, closedByWatchdog: true });
		// mediasoup 3.12 still says ICE `completed`: only the silence since the grant tells.
		expect(info.detail).toMatch(
			/^ICE did not reconnect within 2000 ms of the granted restart \(iceState:completed, bytesReceived (\d+) → \1\)$/,
		);
		expect(tookMs).toBeGreaterThanOrEqual(2_000);
		expect(tookMs).toBeLessThan(3_500);
		expect(client.exited).toBe(false);
		expect(transport.closed).toBe(true);
	});

	it('ends in `restart-timeout` when werift is frozen (SIGSTOP) as the restart is granted', async () => {
		const { client, watch } = await connectedWerift();
		client.stop();
		await watch.restartIce();
		const info = await watch.closed;
		expect(info.reason).toBe('restart-timeout');
		expect(info.detectionMs).toBeGreaterThanOrEqual(2_000);
		expect(info.detectionMs).toBeLessThan(3_500);
	});
});
