// The TransportWatch state machine against a fake transport that emits mediasoup 3.12's real
// event sequences, with fake timers: every transition, every reason the core decides or records,
// the exact moment each timer fires, and nothing left behind (listeners on the transport, timers).
import { describe, expect, it, vi } from 'vitest';
import {
	type CloseInfo,
	type CloseReason,
	definePolicy,
	type WatchdogPolicyOptions,
	type WatchOptions,
	watchTransport,
} from '../../src/index.js';
import { CLEAN_REASONS } from '../../src/reasons.js';
import { createFakeTransport, FakeWebRtcServer, type FakeWebRtcTransport } from '../helpers/fake-transport.js';
import { useFakeTimers } from '../helpers/manual-clock.js';
import { recordEvents } from '../helpers/watch-events.js';

useFakeTimers();

/**
 * A watched fake transport. Stats-based inactivity is off so that only the rules under test can
 * close it (it has its own tests).
 */
function setup(overrides: WatchdogPolicyOptions = {}, options: { watch?: WatchOptions; webRtcServer?: boolean } = {}) {
	const policy = definePolicy({ inactivityTimeoutMs: Number.POSITIVE_INFINITY, ...overrides });
	const webRtcServer = options.webRtcServer ? new FakeWebRtcServer() : undefined;
	const { worker, router, transport } = createFakeTransport(webRtcServer ? { webRtcServer } : {});
	const watch = watchTransport(transport, policy, { worker, ...options.watch });
	const events = recordEvents(watch);
	return { policy, worker, router, webRtcServer, transport, watch, events };
}

/** Asserts the watch left nothing behind: no listener on the transport, no pending timer. */
function expectReleased(transport: FakeWebRtcTransport<Record<string, unknown>>): void {
	expect(transport.listenerMap()).toEqual({});
	expect(transport.watchListenerCount()).toBe(0);
	expect(vi.getTimerCount()).toBe(0);
	expect(transport.allListenerErrors()).toEqual([]);
}

describe('connecting', () => {
	it('starts in `connecting` with a deadline armed and four listeners on the transport', () => {
		const { watch, transport } = setup();
		expect(watch.state).toBe('connecting');
		expect(watch.transport).toBe(transport);
		expect(watch.transportId).toBe(transport.id);
		expect(watch.userId).toBe('alice');
		expect(watch.connectedOnce).toBe(false);
		expect(watch.closeReason).toBeUndefined();
		expect(vi.getTimerCount()).toBe(1);
		expect(transport.listenerMap()).toEqual({
			routerclose: 1,
			listenserverclose: 1,
			'observer:icestatechange': 1,
			'observer:dtlsstatechange': 1,
			'observer:iceselectedtuplechange': 1,
			'observer:close': 1,
			'observer:newproducer': 1, // liveness hints: the producers' score events
		});
	});

	it.each(['after-handshake', 'during-handshake'] as const)(
		'moves to `connected` on DTLS connected and reports the time it took (ICE nominated %s)',
		async (nominated) => {
			const { watch, transport, events } = setup();
			await vi.advanceTimersByTimeAsync(1_234);
			transport.connectClient({ nominated });
			expect(watch.state).toBe('connected');
			expect(watch.connectedOnce).toBe(true);
			expect(events.of('connect')).toEqual([{ timeToConnectMs: 1_234 }]);
			expect(events.transitions()).toEqual(['connecting→connected']);
			expect(events.names()).toEqual(['statechange', 'connect']);
		},
	);

	it('stays `connecting` while ICE is connected but DTLS is not, and the deadline still applies', async () => {
		const { watch, transport, events } = setup({ connectTimeoutMs: 5_000 });
		transport.emitIceState('connected');
		transport.emitSelectedTuple();
		transport.emitDtlsState('connecting');
		expect(watch.state).toBe('connecting');
		await vi.advanceTimersByTimeAsync(5_000);
		expect(watch.closeReason).toBe('connect-timeout');
		expect(events.of('close')[0]?.detail).toBe('DTLS not connected within 5000 ms (iceState:connected, dtlsState:connecting)');
	});

	it('ignores ICE `disconnected` before the first DTLS connection: the deadline rules', async () => {
		const { watch, transport, events } = setup({ connectTimeoutMs: 5_000, disconnectGraceMs: 100 });
		transport.emitIceState('connected');
		transport.emitIceState('disconnected');
		await vi.advanceTimersByTimeAsync(4_999);
		expect(watch.state).toBe('connecting');
		expect(events.of('disconnect')).toEqual([]);
		await vi.advanceTimersByTimeAsync(1);
		expect(watch.closeReason).toBe('connect-timeout');
	});
});

describe('the first-connect deadline', () => {
	it('fires at exactly connectTimeoutMs, not one millisecond earlier, and closes the transport itself', async () => {
		const { watch, transport, events } = setup({ connectTimeoutMs: 3_000 });
		await vi.advanceTimersByTimeAsync(2_999);
		expect(watch.state).toBe('connecting');
		expect(transport.closed).toBe(false);
		await vi.advanceTimersByTimeAsync(1);
		expect(watch.state).toBe('closed');
		expect(transport.closed).toBe(true);
		const info = await watch.closed;
		expect(info).toEqual({
			reason: 'connect-timeout',
			clean: false,
			closedByWatchdog: true,
			transportId: transport.id,
			userId: 'alice',
			connectedOnce: false,
			timeToConnectMs: null,
			durationMs: 3_000,
			detectionMs: null,
			detail: 'DTLS not connected within 3000 ms (iceState:new, dtlsState:new)',
		} satisfies CloseInfo);
		expect(events.of('close')).toEqual([info]);
		expect(events.transitions()).toEqual(['connecting→closed']);
		expectReleased(transport);
	});

	it('uses the default of 15 s', async () => {
		const { watch } = setup();
		await vi.advanceTimersByTimeAsync(14_999);
		expect(watch.state).toBe('connecting');
		await vi.advanceTimersByTimeAsync(1);
		expect(watch.closeReason).toBe('connect-timeout');
	});

	it('is cancelled by a DTLS connection one millisecond before it', async () => {
		const { watch, transport, events } = setup({ connectTimeoutMs: 3_000 });
		await vi.advanceTimersByTimeAsync(2_999);
		transport.connectClient();
		expect(vi.getTimerCount()).toBe(0);
		await vi.advanceTimersByTimeAsync(60_000);
		expect(watch.state).toBe('connected');
		expect(transport.closed).toBe(false);
		expect(events.of('connect')).toEqual([{ timeToConnectMs: 2_999 }]);
		expect(events.of('close')).toEqual([]);
	});

	it('arms no timer at all when connectTimeoutMs is Infinity', async () => {
		const { watch, transport } = setup({ connectTimeoutMs: Number.POSITIVE_INFINITY });
		expect(vi.getTimerCount()).toBe(0);
		await vi.advanceTimersByTimeAsync(24 * 3_600_000);
		expect(watch.state).toBe('connecting');
		expect(transport.closed).toBe(false);
	});

	it('counts from the moment the transport is watched, not from its creation', async () => {
		const policy = definePolicy({ connectTimeoutMs: 1_000, inactivityTimeoutMs: Number.POSITIVE_INFINITY });
		const { transport } = createFakeTransport();
		await vi.advanceTimersByTimeAsync(5_000);
		const watch = watchTransport(transport, policy);
		await vi.advanceTimersByTimeAsync(999);
		expect(watch.state).toBe('connecting');
		await vi.advanceTimersByTimeAsync(1);
		expect(watch.closeReason).toBe('connect-timeout');
		expect((await watch.closed).durationMs).toBe(1_000);
	});
});

describe('connected ⇄ disconnected', () => {
	it('enters `disconnected` on ICE disconnected and closes with `ice-disconnected` at exactly the grace', async () => {
		const { watch, transport, events } = setup({ disconnectGraceMs: 4_000 });
		transport.connectClient();
		await vi.advanceTimersByTimeAsync(10_000);
		transport.emitIceState('disconnected');
		expect(watch.state).toBe('disconnected');
		expect(events.of('disconnect')).toEqual([{ iceState: 'disconnected', graceMs: 4_000 }]);
		await vi.advanceTimersByTimeAsync(3_999);
		expect(watch.state).toBe('disconnected');
		expect(transport.closed).toBe(false);
		await vi.advanceTimersByTimeAsync(1);
		expect(transport.closed).toBe(true);
		expect(await watch.closed).toMatchObject({
			reason: 'ice-disconnected',
			clean: false,
			closedByWatchdog: true,
			connectedOnce: true,
			timeToConnectMs: 0,
			durationMs: 14_000,
			detectionMs: 4_000,
			detail: 'ICE disconnected for 4000 ms',
		});
		expect(events.transitions()).toEqual(['connecting→connected', 'connected→disconnected', 'disconnected→closed']);
		expectReleased(transport);
	});

	it('returns to `connected` with a `reconnect` when ICE recovers within the grace, and forgets the grace', async () => {
		const { watch, transport, events } = setup({ disconnectGraceMs: 4_000 });
		transport.connectClient();
		transport.emitIceState('disconnected');
		await vi.advanceTimersByTimeAsync(3_999);
		transport.emitIceState('connected');
		expect(watch.state).toBe('connected');
		expect(events.of('reconnect')).toEqual([{ afterMs: 3_999, afterRestart: false }]);
		expect(vi.getTimerCount()).toBe(0);
		await vi.advanceTimersByTimeAsync(60_000);
		expect(watch.state).toBe('connected');
		expect(transport.closed).toBe(false);
	});

	it('treats ICE `completed` as a recovery too', async () => {
		const { watch, transport, events } = setup({ disconnectGraceMs: 4_000 });
		transport.connectClient();
		transport.emitIceState('disconnected');
		await vi.advanceTimersByTimeAsync(100);
		transport.emitIceState('completed');
		expect(watch.state).toBe('connected');
		expect(events.of('reconnect')).toEqual([{ afterMs: 100, afterRestart: false }]);
	});

	it('gives every new disconnection a full grace of its own', async () => {
		const { watch, transport, events } = setup({ disconnectGraceMs: 1_000 });
		transport.connectClient();
		for (let i = 0; i < 3; i++) {
			transport.emitIceState('disconnected');
			await vi.advanceTimersByTimeAsync(999);
			transport.emitIceState('completed');
		}
		transport.emitIceState('disconnected');
		await vi.advanceTimersByTimeAsync(999);
		expect(watch.state).toBe('disconnected');
		await vi.advanceTimersByTimeAsync(1);
		expect(watch.closeReason).toBe('ice-disconnected');
		expect(events.of('disconnect')).toHaveLength(4);
		expect(events.of('reconnect')).toHaveLength(3);
		expect(events.transitions()).toEqual([
			'connecting→connected',
			...Array.from({ length: 3 }, () => ['connected→disconnected', 'disconnected→connected']).flat(),
			'connected→disconnected',
			'disconnected→closed',
		]);
	});

	it('does not restart the grace on a repeated ICE `disconnected`', async () => {
		const { watch, transport } = setup({ disconnectGraceMs: 1_000 });
		transport.connectClient();
		transport.emitIceState('disconnected');
		await vi.advanceTimersByTimeAsync(600);
		transport.emitIceState('disconnected');
		await vi.advanceTimersByTimeAsync(400);
		expect(watch.closeReason).toBe('ice-disconnected');
	});

	it('waits forever when disconnectGraceMs is Infinity, and says so in the `disconnect` event', async () => {
		const { watch, transport, events } = setup({ disconnectGraceMs: Number.POSITIVE_INFINITY });
		transport.connectClient();
		transport.emitIceState('disconnected');
		expect(events.of('disconnect')).toEqual([{ iceState: 'disconnected', graceMs: Number.POSITIVE_INFINITY }]);
		expect(vi.getTimerCount()).toBe(0);
		await vi.advanceTimersByTimeAsync(24 * 3_600_000);
		expect(watch.state).toBe('disconnected');
	});

	it('closes on the next timer tick when disconnectGraceMs is 0', async () => {
		const { watch, transport } = setup({ disconnectGraceMs: 0 });
		transport.connectClient();
		transport.emitIceState('disconnected');
		expect(watch.state).toBe('disconnected');
		await vi.advanceTimersByTimeAsync(0);
		expect(watch.closeReason).toBe('ice-disconnected');
		expect((await watch.closed).detectionMs).toBe(0);
	});
});

describe('DTLS endings', () => {
	it('closes with `dtls-closed` (clean) at once when the client sends close_notify', async () => {
		const { watch, transport, events } = setup();
		transport.connectClient();
		await vi.advanceTimersByTimeAsync(2_000);
		transport.clientCloseNotify();
		expect(watch.state).toBe('closed');
		expect(transport.closed).toBe(true);
		expect(await watch.closed).toMatchObject({
			reason: 'dtls-closed',
			clean: true,
			closedByWatchdog: true,
			connectedOnce: true,
			durationMs: 2_000,
			detectionMs: 0,
			detail: 'the client sent a DTLS close_notify',
		});
		expect(events.transitions()).toEqual(['connecting→connected', 'connected→closed']);
		expectReleased(transport);
	});

	it('closes with `dtls-closed` also while disconnected (a TCP client closing)', async () => {
		const { watch, transport } = setup();
		transport.connectClient();
		transport.emitIceState('disconnected');
		transport.clientCloseNotify();
		expect(watch.closeReason).toBe('dtls-closed');
		expectReleased(transport);
	});

	it('closes with `dtls-closed` when the client closes before the handshake completes', async () => {
		const { watch, transport } = setup();
		transport.emitIceState('connected');
		transport.emitDtlsState('connecting');
		transport.clientCloseNotify();
		expect(await watch.closed).toMatchObject({ reason: 'dtls-closed', connectedOnce: false, timeToConnectMs: null });
		expectReleased(transport);
	});

	it('closes with `dtls-failed` (not clean) at once when the handshake fails', async () => {
		const { watch, transport } = setup();
		transport.emitIceState('connected');
		transport.emitDtlsState('connecting');
		await vi.advanceTimersByTimeAsync(1_000);
		transport.emitDtlsState('failed');
		expect(transport.closed).toBe(true);
		expect(await watch.closed).toMatchObject({
			reason: 'dtls-failed',
			clean: false,
			closedByWatchdog: true,
			connectedOnce: false,
			durationMs: 1_000,
			detectionMs: 0,
		});
		expectReleased(transport);
	});

	it('closes with `dtls-failed` when DTLS fails after it had connected', async () => {
		const { watch, transport } = setup();
		transport.connectClient();
		transport.emitDtlsState('failed');
		expect(await watch.closed).toMatchObject({ reason: 'dtls-failed', connectedOnce: true });
	});
});

describe('closes the watchdog only records', () => {
	it('records `transport-closed` when the app closes the transport itself', async () => {
		const { watch, transport, events } = setup();
		transport.connectClient();
		await vi.advanceTimersByTimeAsync(500);
		transport.close();
		expect(watch.state).toBe('closed');
		expect(await watch.closed).toMatchObject({
			reason: 'transport-closed',
			clean: true,
			closedByWatchdog: false,
			connectedOnce: true,
			durationMs: 500,
		});
		expect(events.of('close')).toHaveLength(1);
		expectReleased(transport);
	});

	it('records `router-closed` when the router closes', async () => {
		const { watch, router, transport } = setup();
		router.close();
		expect(transport.closed).toBe(true);
		expect(await watch.closed).toMatchObject({ reason: 'router-closed', clean: true, closedByWatchdog: false });
		expectReleased(transport);
	});

	it('records `worker-died` when the worker passed in the watch options dies', async () => {
		const { watch, worker, transport } = setup();
		transport.connectClient();
		worker.die();
		expect(await watch.closed).toMatchObject({ reason: 'worker-died', clean: false, closedByWatchdog: false });
		expectReleased(transport);
	});

	it('records `router-closed`, not `worker-died`, for a dying worker it was not told about', async () => {
		const policy = definePolicy({ inactivityTimeoutMs: Number.POSITIVE_INFINITY });
		const { worker, transport } = createFakeTransport();
		const watch = watchTransport(transport, policy);
		worker.die();
		expect((await watch.closed).reason).toBe('router-closed');
	});

	it('records `router-closed` when the app closes the worker', async () => {
		const { watch, worker } = setup();
		worker.close();
		expect((await watch.closed).reason).toBe('router-closed');
	});

	it('records `listen-server-closed` when the WebRtcServer the transport listens on closes', async () => {
		const { watch, webRtcServer, transport } = setup({}, { webRtcServer: true });
		transport.connectClient();
		webRtcServer?.close();
		expect(transport.closed).toBe(true);
		expect(await watch.closed).toMatchObject({ reason: 'listen-server-closed', clean: true, closedByWatchdog: false });
		expectReleased(transport);
	});

	it('records an outside close during the disconnect grace and cancels the grace', async () => {
		const { watch, router, transport } = setup({ disconnectGraceMs: 5_000 });
		transport.connectClient();
		transport.emitIceState('disconnected');
		expect(vi.getTimerCount()).toBe(1);
		router.close();
		expect(watch.closeReason).toBe('router-closed');
		expectReleased(transport);
	});
});

describe('the app closing through the watch', () => {
	it('closes the transport with `app` and the detail it was given', async () => {
		const { watch, transport, events } = setup();
		transport.connectClient();
		watch.close('kicked by moderator');
		expect(transport.closed).toBe(true);
		expect(await watch.closed).toMatchObject({
			reason: 'app',
			clean: true,
			closedByWatchdog: true,
			detail: 'kicked by moderator',
		});
		expect(events.transitions()).toEqual(['connecting→connected', 'connected→closed']);
		expectReleased(transport);
	});

	it('closes a still-connecting transport and cancels its deadline', async () => {
		const { watch, transport } = setup();
		watch.close();
		expect(await watch.closed).toMatchObject({ reason: 'app', detail: undefined, connectedOnce: false });
		expectReleased(transport);
	});
});

describe('every reason', () => {
	const endings: Array<[CloseReason, (s: ReturnType<typeof setup>) => Promise<void> | void]> = [
		['connect-timeout', () => vi.advanceTimersByTimeAsync(15_000).then(() => undefined)],
		['dtls-closed', ({ transport }) => transport.clientCloseNotify()],
		['dtls-failed', ({ transport }) => transport.emitDtlsState('failed')],
		[
			'ice-disconnected',
			async ({ transport }) => {
				transport.connectClient();
				transport.emitIceState('disconnected');
				await vi.advanceTimersByTimeAsync(15_000);
			},
		],
		['app', ({ watch }) => watch.close()],
		['transport-closed', ({ transport }) => transport.close()],
		['router-closed', ({ router }) => router.close()],
		['worker-died', ({ worker }) => worker.die()],
		['listen-server-closed', ({ webRtcServer }) => webRtcServer?.close()],
		['stopped', ({ watch }) => watch.stop()],
	];

	for (const [reason, end] of endings) {
		it(`ends once with \`${reason}\`, clean as reasons.ts says, and leaves no listener or timer behind`, async () => {
			const s = setup({}, { webRtcServer: true });
			const { watch, transport, events } = s;
			const settled = vi.fn();
			void watch.closed.then(settled);
			await end(s);
			const info = await watch.closed;
			expect(info.reason).toBe(reason);
			expect(info.clean).toBe(CLEAN_REASONS[reason]);
			expect(watch.closeReason).toBe(reason);
			expect(watch.state).toBe(reason === 'stopped' ? 'stopped' : 'closed');
			expect(watch.transport).toBeUndefined();
			expect(settled).toHaveBeenCalledTimes(1);
			expect(events.of('close')).toEqual(reason === 'stopped' ? [] : [info]);
			expect(watch.listenerCount()).toBe(0);
			expectReleased(transport);
		});
	}
});
