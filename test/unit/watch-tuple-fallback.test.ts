// A granted ICE restart over ICE-TCP whose connections close while it is in progress. mediasoup
// removes the closed tuples one by one: as the selected one goes it selects the next
// (`iceselectedtuplechange`, the sign the watch takes for Chromium following the restart), and
// when none is left it goes `'disconnected'` — both within 1 ms (measured with Chromium in
// test/integration/core-ice-dtls.test.ts). The restart is still in progress then: no `reconnect`,
// the disconnect grace stays suspended and the restart's own deadline rules. So a new TCP tuple
// counts as the client following only once it has stood for 100 ms (or ICE confirms it); a UDP
// tuple counts at once.
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

const TCP = { protocol: 'tcp' } as const;

describe('a new ICE-TCP tuple during a restart', () => {
	it('is no follow-up when ICE goes `disconnected` right after it: still `restarting`, no `reconnect`, grace suspended; `connected` when the client really follows', async () => {
		const { clock, transport, watch, transitions, reconnects, closed } = await grantedRestart();
		await clock.advance(300);
		transport.emitSelectedTuple({ ...TCP, remotePort: 50_100 }); // mediasoup falls back to another (closing) tuple
		transport.emitIceState('disconnected'); // then none is left
		expect(watch.state).toBe('restarting');
		expect(reconnects).toEqual([]);
		await clock.advance(5_000); // 25× the 200 ms grace
		expect(closed()).toBeUndefined();
		expect(watch.state).toBe('restarting');
		transport.emitSelectedTuple({ ...TCP, remotePort: 50_200 }); // the client's new connection, new credentials
		transport.emitIceState('connected');
		expect(watch.state).toBe('connected');
		expect(transitions).toEqual(['connecting→connected', 'connected→restarting', 'restarting→connected']);
		expect(reconnects).toEqual([{ afterMs: 5_300, afterRestart: true }]);
		expect(clock.pending()).toBe(0);
	});

	it('still closes with `restart-timeout` at the deadline of the granted restart, not a new one', async () => {
		const { clock, transport, watch, reconnects, closed } = await grantedRestart(1_000);
		await clock.advance(4_000);
		transport.emitSelectedTuple(TCP);
		await clock.advance(50);
		transport.emitIceState('disconnected');
		expect(watch.state).toBe('restarting');
		await clock.advance(5_949);
		expect(closed()).toBeUndefined();
		await clock.advance(1);
		expect(closed()).toMatchObject({ reason: 'restart-timeout', clean: false, closedByWatchdog: true, detectionMs: 10_000 });
		expect(reconnects).toEqual([]);
		expect(transport.closed).toBe(true);
		expect(clock.pending()).toBe(0);
	});

	it('counts as the follow-up once it has stood for 100 ms, timed from when it came; ICE `disconnected` after that is a departure', async () => {
		const { clock, transport, watch, reconnects, closed } = await grantedRestart();
		await clock.advance(300);
		transport.emitSelectedTuple(TCP);
		await clock.advance(99);
		expect(watch.state).toBe('restarting');
		expect(reconnects).toEqual([]);
		await clock.advance(1);
		expect(watch.state).toBe('connected');
		expect(reconnects).toEqual([{ afterMs: 300, afterRestart: true }]);
		await clock.advance(1);
		transport.emitIceState('disconnected');
		expect(watch.state).toBe('disconnected');
		await clock.advance(200);
		expect(closed()).toMatchObject({ reason: 'ice-disconnected', detectionMs: 200 });
	});

	it('waits for the last of several tuple changes, and is timed from it', async () => {
		const { clock, transport, watch, reconnects } = await grantedRestart();
		transport.emitSelectedTuple(TCP);
		await clock.advance(60);
		transport.emitSelectedTuple(TCP);
		await clock.advance(99);
		expect(watch.state).toBe('restarting');
		await clock.advance(1);
		expect(reconnects).toEqual([{ afterMs: 60, afterRestart: true }]);
	});

	it('makes the restart deadline wait for the last of several tuple changes with one timer, not a timer per millisecond', async () => {
		const { clock, transport, watch, reconnects } = await grantedRestart();
		await clock.advance(9_930);
		transport.emitSelectedTuple(TCP);
		await clock.advance(50);
		transport.emitSelectedTuple(TCP); // at 9 980: its 100 ms end at 10 080
		const timersBefore = clock.created;
		await clock.advance(20); // the deadline, at 10 000
		await clock.advance(79);
		expect(watch.state).toBe('restarting');
		await clock.advance(1);
		expect(reconnects).toEqual([{ afterMs: 9_980, afterRestart: true }]);
		expect(clock.created - timersBefore).toBeLessThanOrEqual(2);
		expect(clock.pending()).toBe(0);
	});

	it('counts at once when an ICE state event confirms it; ICE `disconnected` after that is a departure', async () => {
		const { clock, transport, watch, reconnects, closed } = await grantedRestart();
		await clock.advance(40);
		transport.emitSelectedTuple(TCP);
		await clock.advance(10);
		transport.emitIceState('completed');
		expect(watch.state).toBe('connected');
		expect(reconnects).toEqual([{ afterMs: 40, afterRestart: true }]);
		transport.emitIceState('disconnected');
		expect(watch.state).toBe('disconnected');
		await clock.advance(200);
		expect(closed()?.reason).toBe('ice-disconnected');
	});

	it('makes the restart deadline wait for it: followed when it stands', async () => {
		const { clock, transport, watch, reconnects, closed } = await grantedRestart();
		await clock.advance(9_950);
		transport.emitSelectedTuple(TCP);
		await clock.advance(50); // the deadline
		expect(watch.state).toBe('restarting');
		expect(reconnects).toEqual([]);
		await clock.advance(50);
		expect(watch.state).toBe('connected');
		expect(reconnects).toEqual([{ afterMs: 9_950, afterRestart: true }]);
		expect(closed()).toBeUndefined();
		expect(clock.pending()).toBe(0);
	});

	it('makes the restart deadline wait for it: `restart-timeout`, and no `reconnect`, when ICE goes `disconnected` first', async () => {
		const { clock, transport, reconnects, closed } = await grantedRestart();
		await clock.advance(9_950);
		transport.emitSelectedTuple(TCP);
		await clock.advance(50); // the deadline
		transport.emitIceState('disconnected');
		expect(closed()).toBeUndefined();
		await clock.advance(50);
		expect(closed()).toMatchObject({ reason: 'restart-timeout', detectionMs: 10_050 });
		expect(closed()?.detail).toContain('iceState:disconnected');
		expect(reconnects).toEqual([]);
		expect(clock.pending()).toBe(0);
	});

	it('leaves no timer behind when the watch ends while it waits', async () => {
		const { clock, transport, watch, reconnects, closed } = await grantedRestart();
		transport.emitSelectedTuple(TCP);
		watch.close();
		expect(closed()?.reason).toBe('app');
		expect(clock.pending()).toBe(0);
		await clock.advance(1_000);
		expect(reconnects).toEqual([]);
	});

	it('is set aside by a newer granted restart', async () => {
		const { clock, transport, watch, reconnects } = await grantedRestart();
		transport.emitSelectedTuple(TCP);
		await clock.advance(50);
		await watch.restartIce(); // perUser is off in this policy
		await clock.advance(100);
		expect(watch.state).toBe('restarting');
		expect(reconnects).toEqual([]);
	});
});

/**
 * Holds the next getStats() request (the restart deadline's) until the test answers it; the answer
 * sets `bytesReceived` and lets the transport's own stats through.
 */
function holdStats(transport: FakeWebRtcTransport, clock: ManualClock): (bytesReceived: number) => Promise<void> {
	let release: (() => void) | undefined;
	transport.getStatsImpl = () =>
		new Promise<void>((resolve) => {
			release = resolve;
		}).then(() => {
			transport.getStatsImpl = undefined;
			return transport.getStats();
		});
	return async (bytesReceived) => {
		if (!release) throw new Error('no getStats() request was made');
		transport.bytesReceived = bytesReceived;
		release();
		await clock.advance(0); // lets the answer reach the watch
	};
}

describe('while the restart deadline reads bytesReceived', () => {
	it('a new TCP tuple decides, not the bytes: `restart-timeout` when ICE goes down within its 100 ms', async () => {
		const { clock, transport, watch, reconnects, closed } = await grantedRestart();
		const answer = holdStats(transport, clock);
		await clock.advance(10_000); // the deadline asks for stats
		transport.emitSelectedTuple(TCP);
		await clock.advance(20);
		await answer(500); // bytes grew: alive on its old credentials, were it not for the tuple
		expect(watch.state).toBe('restarting');
		await clock.advance(20);
		transport.emitIceState('disconnected');
		await clock.advance(60);
		expect(closed()).toMatchObject({ reason: 'restart-timeout', detectionMs: 10_100 });
		expect(reconnects).toEqual([]);
		expect(clock.pending()).toBe(0);
	});

	it('a new TCP tuple decides, not the bytes: followed when it stands', async () => {
		const { clock, transport, watch, reconnects } = await grantedRestart();
		const answer = holdStats(transport, clock);
		await clock.advance(10_000);
		transport.emitSelectedTuple(TCP);
		await answer(0); // no bytes: a `restart-timeout`, were it not for the tuple
		expect(watch.state).toBe('restarting');
		await clock.advance(100);
		expect(watch.state).toBe('connected');
		expect(reconnects).toEqual([{ afterMs: 10_000, afterRestart: true }]);
		expect(clock.pending()).toBe(0);
	});

	it('ICE `disconnected` meanwhile makes the bytes of before no sign of life: `restart-timeout`', async () => {
		const { clock, transport, watch, closed } = await grantedRestart();
		const answer = holdStats(transport, clock);
		await clock.advance(10_000);
		transport.emitIceState('disconnected');
		await answer(500);
		expect(watch.state).toBe('closed');
		expect(closed()).toMatchObject({ reason: 'restart-timeout', detectionMs: 10_000 });
		expect(closed()?.detail).toContain('iceState:disconnected');
		expect(clock.pending()).toBe(0);
	});
});

describe('a new UDP tuple during a restart', () => {
	it('counts as the follow-up at once (UDP tuples do not close): ICE `disconnected` right after it is a departure', async () => {
		const { clock, transport, watch, reconnects, closed } = await grantedRestart();
		await clock.advance(120);
		transport.emitSelectedTuple();
		expect(watch.state).toBe('connected');
		expect(reconnects).toEqual([{ afterMs: 120, afterRestart: true }]);
		transport.emitIceState('disconnected');
		expect(watch.state).toBe('disconnected');
		await clock.advance(200);
		expect(closed()).toMatchObject({ reason: 'ice-disconnected', detectionMs: 200 });
	});
});

describe('outside a restart', () => {
	it('a new TCP tuple then ICE `disconnected` starts the grace', async () => {
		const clock = new ManualClock();
		const watchdog = createWatchdog(POLICY, { clock });
		const { transport } = createFakeTransport({ appData: { userId: 'alice' } });
		const watch = watchdog.watch(transport as FakeWebRtcTransport & WatchableTransport);
		transport.connectClient();
		transport.emitSelectedTuple(TCP);
		transport.emitIceState('disconnected');
		expect(watch.state).toBe('disconnected');
		await clock.advance(200);
		expect(watch.closeReason).toBe('ice-disconnected');
	});
});
