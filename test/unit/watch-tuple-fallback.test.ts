// A granted ICE restart over ICE-TCP whose connections close while it is in progress. mediasoup
// removes the closed tuples one by one: as the selected one goes it selects the next
// (`iceselectedtuplechange`, the sign the watch takes for Chromium following the restart), and
// when none is left it goes `'disconnected'` — both within 1 ms (measured with Chromium in
// test/integration/core-ice-dtls.test.ts). The restart is still in progress then: the disconnect
// grace must stay suspended and the restart's own deadline rule.
import { describe, expect, it } from 'vitest';
import type { CloseInfo, ReconnectEvent, WatchableTransport, WatchdogPolicyOptions } from '../../src/index.js';
import { createWatchdog } from '../../src/watchdog.js';
import { createFakeTransport, type FakeWebRtcTransport } from '../helpers/fake-transport.js';
import { ManualClock } from '../helpers/manual-clock.js';

const POLICY: WatchdogPolicyOptions = {
	connectTimeoutMs: Number.POSITIVE_INFINITY,
	inactivityTimeoutMs: Number.POSITIVE_INFINITY,
	disconnectGraceMs: 200,
	iceRestart: { reconnectTimeoutMs: 10_000, perUser: false },
	maxPendingPerUser: Number.POSITIVE_INFINITY,
};

/** A connected watch with a granted restart, `grantedAfterMs` after it connected. */
async function grantedRestart(grantedAfterMs = 0) {
	const clock = new ManualClock();
	const watchdog = createWatchdog(POLICY, { clock });
	const { transport } = createFakeTransport({ appData: { userId: 'alice' } });
	const watch = watchdog.watch(transport as FakeWebRtcTransport & WatchableTransport);
	const transitions: string[] = [];
	const reconnects: ReconnectEvent[] = [];
	let closed: CloseInfo | undefined;
	watch.on('statechange', ({ from, to }) => transitions.push(`${from}→${to}`));
	watch.on('reconnect', (event) => reconnects.push(event));
	watch.on('close', (info) => {
		closed = info;
	});
	transport.connectClient();
	await clock.advance(grantedAfterMs);
	await watch.restartIce();
	expect(watch.state).toBe('restarting');
	return { clock, watchdog, transport, watch, transitions, reconnects, closed: () => closed };
}

describe('ICE `disconnected` right after the tuple change taken for a restart', () => {
	it('goes back to `restarting` with the grace suspended, and to `connected` when the client really follows', async () => {
		const { clock, transport, watch, transitions, reconnects, closed } = await grantedRestart();
		await clock.advance(300);
		transport.emitSelectedTuple({ remotePort: 50_100 }); // mediasoup falls back to another (closing) tuple
		transport.emitIceState('disconnected'); // then none is left
		expect(watch.state).toBe('restarting');
		await clock.advance(5_000); // 25× the 200 ms grace
		expect(closed()).toBeUndefined();
		expect(watch.state).toBe('restarting');
		transport.emitSelectedTuple({ remotePort: 50_200 }); // the client's new connection, new credentials
		transport.emitIceState('connected');
		expect(watch.state).toBe('connected');
		expect(transitions).toEqual([
			'connecting→connected',
			'connected→restarting',
			'restarting→connected',
			'connected→restarting',
			'restarting→connected',
		]);
		expect(reconnects).toEqual([
			{ afterMs: 300, afterRestart: true },
			{ afterMs: 5_300, afterRestart: true },
		]);
		expect(clock.pending()).toBe(0);
	});

	it('still closes with `restart-timeout` at the deadline of the granted restart, not a new one', async () => {
		const { clock, transport, watch, closed } = await grantedRestart(1_000);
		await clock.advance(4_000);
		transport.emitSelectedTuple();
		await clock.advance(50);
		transport.emitIceState('disconnected');
		expect(watch.state).toBe('restarting');
		await clock.advance(5_949);
		expect(closed()).toBeUndefined();
		await clock.advance(1);
		expect(closed()).toMatchObject({ reason: 'restart-timeout', clean: false, closedByWatchdog: true, detectionMs: 10_000 });
		expect(transport.closed).toBe(true);
		expect(clock.pending()).toBe(0);
	});

	it('treats ICE `disconnected` more than 100 ms after that tuple change as a departure: the grace applies', async () => {
		const { clock, transport, watch, closed } = await grantedRestart();
		transport.emitSelectedTuple();
		await clock.advance(101);
		transport.emitIceState('disconnected');
		expect(watch.state).toBe('disconnected');
		await clock.advance(200);
		expect(closed()).toMatchObject({ reason: 'ice-disconnected', detectionMs: 200 });
	});

	it('treats it as a departure once an ICE state event confirmed the follow-up', async () => {
		const { clock, transport, watch, closed } = await grantedRestart();
		transport.emitSelectedTuple();
		transport.emitIceState('completed');
		transport.emitIceState('disconnected');
		expect(watch.state).toBe('disconnected');
		await clock.advance(200);
		expect(closed()?.reason).toBe('ice-disconnected');
	});

	it('does not apply outside a restart: a tuple change then ICE `disconnected` starts the grace', async () => {
		const clock = new ManualClock();
		const watchdog = createWatchdog(POLICY, { clock });
		const { transport } = createFakeTransport({ appData: { userId: 'alice' } });
		const watch = watchdog.watch(transport as FakeWebRtcTransport & WatchableTransport);
		transport.connectClient();
		transport.emitSelectedTuple();
		transport.emitIceState('disconnected');
		expect(watch.state).toBe('disconnected');
		await clock.advance(200);
		expect(watch.closeReason).toBe('ice-disconnected');
	});
});
