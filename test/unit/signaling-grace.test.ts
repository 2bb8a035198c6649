// What a bound session's end does to the user's transports, to the millisecond: a clean end closes
// them at once; an abrupt end opens a grace that a new bindSession() cancels; a newer binding
// replaces the old one; transports watched after the end follow the verdict; the ws heartbeat
// finds a silent socket; unbind() and watchdog.stop() leave no listener and no timer behind.
import { EventEmitter } from 'node:events';
import { describe, expect, it, vi } from 'vitest';
import type { CloseInfo, TransportWatch, WatchableTransport, Watchdog, WatchdogPolicyOptions } from '../../src/index.js';
import { VERDICT_RETENTION_MS } from '../../src/signaling/registry.js';
import { createWatchdog } from '../../src/watchdog.js';
import { createFakeTransport, type FakeWebRtcTransport } from '../helpers/fake-transport.js';
import { heapAfterGc } from '../helpers/leaks.js';
import { fakeTimersClock as clock, useFakeTimers } from '../helpers/manual-clock.js';

useFakeTimers({ now: 0 });

/** The server side of a `ws` WebSocket, with ping/pong and terminate() as ws has them. */
class FakeWs extends EventEmitter {
	readyState = 1;
	pings = 0;
	terminated = 0;
	/** Whether the peer answers pings (a frozen client does not). */
	answers = true;
	ping(): void {
		this.pings += 1;
		if (this.answers) queueMicrotask(() => this.emit('pong', Buffer.alloc(0)));
	}
	terminate(): void {
		this.terminated += 1;
		this.peerClose(1006);
	}
	peerClose(code: number): void {
		if (this.readyState === 3) return;
		this.readyState = 3;
		this.emit('close', code, Buffer.alloc(0));
	}
}

type Fake = FakeWebRtcTransport<{ userId: string }>;

function setup(policy: WatchdogPolicyOptions = {}) {
	const watchdog: Watchdog = createWatchdog(
		{
			inactivityTimeoutMs: Number.POSITIVE_INFINITY,
			connectTimeoutMs: Number.POSITIVE_INFINITY,
			maxPendingPerUser: Number.POSITIVE_INFINITY,
			...policy,
		},
		{ clock },
	);
	const closes: Array<CloseInfo & { atMs: number }> = [];
	watchdog.observer.on('close', (info) => closes.push({ ...info, atMs: Date.now() }));
	const add = (userId = 'alice', { connect = true } = {}): { transport: Fake; watch: TransportWatch } => {
		const { transport } = createFakeTransport({ appData: { userId } });
		const watch = watchdog.watch(transport as unknown as WatchableTransport);
		if (connect) transport.connectClient();
		return { transport, watch };
	};
	return { watchdog, closes, add };
}

describe('a clean end', () => {
	it("closes every transport of the user at once with signaling-closed, and no other user's", async () => {
		const { watchdog, closes, add } = setup();
		const a1 = add('alice');
		const a2 = add('alice', { connect: false });
		const b = add('bob');
		const socket = new FakeWs();
		const binding = watchdog.bindSession('alice', socket);
		await vi.advanceTimersByTimeAsync(1_234);
		socket.peerClose(1001);
		expect(closes.map((c) => [c.transportId, c.reason, c.clean, c.closedByWatchdog, c.detectionMs, c.atMs])).toEqual([
			[a1.transport.id, 'signaling-closed', true, true, 0, 1_234],
			[a2.transport.id, 'signaling-closed', true, true, 0, 1_234],
		]);
		expect(closes[0]?.detail).toBe('WebSocket closed with code 1001');
		expect(a1.transport.closed && a2.transport.closed).toBe(true);
		expect(b.transport.closed).toBe(false);
		expect(b.watch.state).toBe('connected');
		expect(binding.state).toBe('closed');
		expect(binding.end).toEqual({
			kind: 'ws',
			clean: true,
			code: 1001,
			reason: '',
			heartbeat: false,
			afterMs: 1_234,
		});
	});
});

describe('an abrupt end', () => {
	it('closes the transports with signaling-lost exactly when the policy grace runs out', async () => {
		const { watchdog, closes, add } = setup({ signalingGraceMs: 7_000 });
		const { transport, watch } = add();
		const socket = new FakeWs();
		const binding = watchdog.bindSession('alice', socket);
		await vi.advanceTimersByTimeAsync(500);
		socket.peerClose(1006);
		expect(binding.state).toBe('grace');
		await vi.advanceTimersByTimeAsync(6_999);
		expect(closes).toEqual([]);
		expect(watch.state).toBe('connected');
		await vi.advanceTimersByTimeAsync(1);
		expect(closes).toHaveLength(1);
		expect(closes[0]).toMatchObject({
			transportId: transport.id,
			reason: 'signaling-lost',
			clean: false,
			detectionMs: 7_000,
			atMs: 7_500,
			detail: 'WebSocket closed with code 1006; no new session bound within 7000 ms',
		});
		expect(binding.state).toBe('lost');
		expect(vi.getTimerCount()).toBe(0);
	});

	it('uses 10 000 ms when neither the policy nor the binding sets a grace', async () => {
		const { watchdog, closes, add } = setup();
		add();
		const socket = new FakeWs();
		watchdog.bindSession('alice', socket);
		socket.peerClose(1006);
		await vi.advanceTimersByTimeAsync(9_999);
		expect(closes).toEqual([]);
		await vi.advanceTimersByTimeAsync(1);
		expect(closes.map((c) => c.reason)).toEqual(['signaling-lost']);
	});

	it('takes the grace of the binding over the policy', async () => {
		const { watchdog, closes, add } = setup({ signalingGraceMs: 7_000 });
		add();
		const socket = new FakeWs();
		watchdog.bindSession('alice', socket, { graceMs: 250 });
		socket.peerClose(1006);
		await vi.advanceTimersByTimeAsync(250);
		expect(closes.map((c) => [c.reason, c.atMs])).toEqual([['signaling-lost', 250]]);
	});

	it('never closes with graceMs: Infinity, and holds no timer while waiting', async () => {
		const { watchdog, closes, add } = setup();
		add();
		const socket = new FakeWs();
		const binding = watchdog.bindSession('alice', socket, { graceMs: Number.POSITIVE_INFINITY });
		socket.peerClose(1006);
		expect(vi.getTimerCount()).toBe(0);
		await vi.advanceTimersByTimeAsync(3_600_000);
		expect(closes).toEqual([]);
		expect(binding.state).toBe('grace');
	});

	it('keeps the transports when the user binds a new session within the grace', async () => {
		const { watchdog, closes, add } = setup({ signalingGraceMs: 5_000 });
		const { watch } = add();
		const first = new FakeWs();
		const firstBinding = watchdog.bindSession('alice', first);
		first.peerClose(1006);
		await vi.advanceTimersByTimeAsync(4_999);
		const second = new FakeWs();
		const secondBinding = watchdog.bindSession('alice', second);
		expect(firstBinding.state).toBe('replaced');
		expect(secondBinding.state).toBe('active');
		await vi.advanceTimersByTimeAsync(60_000);
		expect(closes).toEqual([]);
		expect(watch.state).toBe('connected');
		// The new session's own end counts from now on.
		second.peerClose(1000);
		expect(closes.map((c) => [c.reason, c.atMs])).toEqual([['signaling-closed', 64_999]]);
	});
});

describe('replacing a binding', () => {
	it("ignores the old session's later close and removes its listeners", async () => {
		const { watchdog, closes, add } = setup();
		const { watch } = add();
		const old = new FakeWs();
		const oldBinding = watchdog.bindSession('alice', old);
		const fresh = new FakeWs();
		watchdog.bindSession('alice', fresh);
		expect(old.listenerCount('close')).toBe(0);
		expect(oldBinding.state).toBe('replaced');
		old.peerClose(1000);
		await vi.advanceTimersByTimeAsync(60_000);
		expect(closes).toEqual([]);
		expect(watch.state).toBe('connected');
	});

	it('lets unbind() of the replaced binding leave the new one alone', async () => {
		const { watchdog, closes, add } = setup();
		add();
		const old = new FakeWs();
		const oldBinding = watchdog.bindSession('alice', old);
		const fresh = new FakeWs();
		const freshBinding = watchdog.bindSession('alice', fresh);
		oldBinding.unbind();
		expect(oldBinding.state).toBe('replaced');
		expect(freshBinding.state).toBe('active');
		expect(fresh.listenerCount('close')).toBe(1);
		fresh.peerClose(1001);
		expect(closes.map((c) => c.reason)).toEqual(['signaling-closed']);
	});

	it('re-binding the same socket follows it once', async () => {
		const { watchdog, closes, add } = setup();
		add();
		const socket = new FakeWs();
		watchdog.bindSession('alice', socket);
		watchdog.bindSession('alice', socket);
		expect(socket.listenerCount('close')).toBe(1);
		socket.peerClose(1000);
		expect(closes).toHaveLength(1);
	});
});

describe('transports watched after the session ended (late creation)', () => {
	it('closes a transport watched after a clean end with signaling-closed, before it can connect', async () => {
		const { watchdog, closes, add } = setup();
		const socket = new FakeWs();
		watchdog.bindSession('alice', socket);
		socket.peerClose(1000);
		await vi.advanceTimersByTimeAsync(3_000);
		const { transport, watch } = add('alice', { connect: false });
		expect(watch.state).toBe('connecting');
		await Promise.resolve();
		expect(watch.state).toBe('closed');
		expect(transport.closed).toBe(true);
		expect(closes).toEqual([
			expect.objectContaining({
				transportId: transport.id,
				reason: 'signaling-closed',
				clean: true,
				detectionMs: null,
				detail: 'WebSocket closed with code 1000',
			}),
		]);
	});

	it('closes a transport watched after the grace ran out with signaling-lost, even one already connected', async () => {
		const { watchdog, closes } = setup({ signalingGraceMs: 1_000 });
		const socket = new FakeWs();
		watchdog.bindSession('alice', socket);
		socket.peerClose(1006);
		await vi.advanceTimersByTimeAsync(1_500);
		const { transport } = createFakeTransport({ appData: { userId: 'alice' }, iceState: 'completed', dtlsState: 'connected' });
		const watch = watchdog.watch(transport as unknown as WatchableTransport);
		expect(watch.state).toBe('connected');
		await Promise.resolve();
		expect(closes.map((c) => [c.transportId, c.reason])).toEqual([[transport.id, 'signaling-lost']]);
	});

	it('lets a transport watched during the grace share the fate of the grace', async () => {
		const { watchdog, closes, add } = setup({ signalingGraceMs: 1_000 });
		const socket = new FakeWs();
		watchdog.bindSession('alice', socket);
		socket.peerClose(1006);
		await vi.advanceTimersByTimeAsync(400);
		const { transport } = add('alice');
		await vi.advanceTimersByTimeAsync(599);
		expect(closes).toEqual([]);
		await vi.advanceTimersByTimeAsync(1);
		expect(closes.map((c) => [c.transportId, c.reason])).toEqual([[transport.id, 'signaling-lost']]);
	});

	it('keeps a transport whose user bound a new session right after watching it', async () => {
		const { watchdog, closes, add } = setup();
		const socket = new FakeWs();
		watchdog.bindSession('alice', socket);
		socket.peerClose(1000);
		const { watch } = add('alice', { connect: false });
		watchdog.bindSession('alice', new FakeWs());
		await vi.advanceTimersByTimeAsync(0);
		expect(watch.state).toBe('connecting');
		expect(closes).toEqual([]);
	});

	it(`forgets the verdict ${VERDICT_RETENTION_MS} ms after the end`, async () => {
		const { watchdog, closes, add } = setup();
		const socket = new FakeWs();
		watchdog.bindSession('alice', socket);
		socket.peerClose(1000);
		await vi.advanceTimersByTimeAsync(VERDICT_RETENTION_MS - 1);
		add('alice', { connect: false });
		await vi.advanceTimersByTimeAsync(1);
		expect(closes).toHaveLength(1);
		const late = add('alice', { connect: false });
		await vi.advanceTimersByTimeAsync(0);
		expect(closes).toHaveLength(1);
		expect(late.watch.state).toBe('connecting');
	});

	it('leaves transports of other users alone', async () => {
		const { watchdog, closes, add } = setup();
		const socket = new FakeWs();
		watchdog.bindSession('alice', socket);
		socket.peerClose(1000);
		const { watch } = add('bob', { connect: false });
		await vi.advanceTimersByTimeAsync(0);
		expect(watch.state).toBe('connecting');
		expect(closes).toEqual([]);
	});

	it('sees the verdict from a close listener that watches a new transport of the user', async () => {
		const { watchdog, closes, add } = setup();
		const first = add('alice');
		let late: TransportWatch | undefined;
		first.watch.on('close', () => {
			late = add('alice', { connect: false }).watch;
		});
		const socket = new FakeWs();
		watchdog.bindSession('alice', socket);
		socket.peerClose(1000);
		await vi.advanceTimersByTimeAsync(0);
		expect(late?.state).toBe('closed');
		expect(closes.map((c) => c.reason)).toEqual(['signaling-closed', 'signaling-closed']);
	});
});

describe('unbind()', () => {
	it('stops following the session: its close no longer closes anything', async () => {
		const { watchdog, closes, add } = setup();
		add();
		const socket = new FakeWs();
		const binding = watchdog.bindSession('alice', socket);
		binding.unbind();
		expect(binding.state).toBe('unbound');
		expect(socket.listenerCount('close')).toBe(0);
		socket.peerClose(1000);
		await vi.advanceTimersByTimeAsync(60_000);
		expect(closes).toEqual([]);
	});

	it('cancels a running grace and keeps the transports', async () => {
		const { watchdog, closes, add } = setup();
		add();
		const socket = new FakeWs();
		const binding = watchdog.bindSession('alice', socket);
		socket.peerClose(1006);
		expect(vi.getTimerCount()).toBe(1);
		binding.unbind();
		expect(vi.getTimerCount()).toBe(0);
		await vi.advanceTimersByTimeAsync(60_000);
		expect(closes).toEqual([]);
	});

	it('forgets the verdict the binding left for late transports', async () => {
		const { watchdog, closes, add } = setup();
		const socket = new FakeWs();
		const binding = watchdog.bindSession('alice', socket);
		socket.peerClose(1000);
		binding.unbind();
		expect(binding.state).toBe('closed');
		add('alice', { connect: false });
		await vi.advanceTimersByTimeAsync(0);
		expect(closes).toEqual([]);
	});

	it('is what [Symbol.dispose] does, and is idempotent', () => {
		const { watchdog } = setup();
		const socket = new FakeWs();
		{
			using binding = watchdog.bindSession('alice', socket);
			expect(binding.state).toBe('active');
		}
		expect(socket.listenerCount('close')).toBe(0);
		const again = watchdog.bindSession('alice', socket);
		again.unbind();
		again.unbind();
		expect(again.state).toBe('unbound');
	});
});

describe('watchdog.stop()', () => {
	it('releases every binding, listener, heartbeat and grace timer, and forgets every verdict', async () => {
		const { watchdog, closes, add } = setup();
		const active = new FakeWs();
		const inGrace = new FakeWs();
		const ended = new FakeWs();
		const activeBinding = watchdog.bindSession('alice', active, { heartbeatMs: 1_000 });
		const graceBinding = watchdog.bindSession('bob', inGrace);
		watchdog.bindSession('carol', ended);
		inGrace.peerClose(1006);
		ended.peerClose(1000);
		expect(vi.getTimerCount()).toBe(2);
		watchdog.stop();
		expect(vi.getTimerCount()).toBe(0);
		expect(active.listenerCount('close') + active.listenerCount('pong')).toBe(0);
		expect(activeBinding.state).toBe('unbound');
		expect(graceBinding.state).toBe('unbound');
		const { watch } = add('carol', { connect: false });
		await vi.advanceTimersByTimeAsync(60_000);
		expect(watch.state).toBe('connecting');
		expect(closes).toEqual([]);
	});
});

describe('the ws heartbeat (heartbeatMs)', () => {
	it('pings every heartbeatMs and keeps a socket that answers', async () => {
		const { watchdog, closes, add } = setup();
		add();
		const socket = new FakeWs();
		const binding = watchdog.bindSession('alice', socket, { heartbeatMs: 1_000 });
		await vi.advanceTimersByTimeAsync(10_000);
		expect(socket.pings).toBe(10);
		expect(socket.terminated).toBe(0);
		expect(binding.state).toBe('active');
		expect(closes).toEqual([]);
	});

	it('terminates a socket whose pong did not come back and treats it as lost', async () => {
		const { watchdog, closes, add } = setup({ signalingGraceMs: 5_000 });
		add();
		const socket = new FakeWs();
		const binding = watchdog.bindSession('alice', socket, { heartbeatMs: 1_000 });
		await vi.advanceTimersByTimeAsync(3_500);
		socket.answers = false; // frozen (SIGSTOP) or unplugged: no close, no pong
		await vi.advanceTimersByTimeAsync(500); // ping at 4 000 goes unanswered
		expect(binding.state).toBe('active');
		await vi.advanceTimersByTimeAsync(1_000); // 5 000: no pong since 3 000
		expect(socket.terminated).toBe(1);
		expect(binding.state).toBe('grace');
		expect(binding.end).toMatchObject({ kind: 'ws', clean: false, heartbeat: true, reason: 'heartbeat timeout', afterMs: 5_000 });
		expect(socket.listenerCount('close') + socket.listenerCount('pong')).toBe(0);
		await vi.advanceTimersByTimeAsync(5_000);
		expect(closes).toHaveLength(1);
		expect(closes[0]).toMatchObject({
			reason: 'signaling-lost',
			atMs: 10_000,
			// from the last pong (3 000) to the decision (10 000)
			detectionMs: 7_000,
			detail: 'WebSocket missed its heartbeat: no pong within 1000 ms of a ping; no new session bound within 5000 ms',
		});
		expect(vi.getTimerCount()).toBe(0);
	});

	it('stops pinging when the socket closes on its own', async () => {
		const { watchdog } = setup();
		const socket = new FakeWs();
		watchdog.bindSession('alice', socket, { heartbeatMs: 1_000 });
		await vi.advanceTimersByTimeAsync(2_000);
		socket.peerClose(1000);
		await vi.advanceTimersByTimeAsync(10_000);
		expect(socket.pings).toBe(2);
		expect(vi.getTimerCount()).toBe(0);
		expect(socket.listenerCount('pong')).toBe(0);
	});

	it('survives a ping() that throws (a socket still connecting)', async () => {
		const { watchdog } = setup();
		const socket = new FakeWs();
		socket.ping = () => {
			throw new Error('WebSocket is not open: readyState 0 (CONNECTING)');
		};
		const binding = watchdog.bindSession('alice', socket, { heartbeatMs: 1_000 });
		await vi.advanceTimersByTimeAsync(2_000);
		expect(binding.state).toBe('grace');
		expect(binding.end?.heartbeat).toBe(true);
	});
});

describe('references', () => {
	it('holds no session once its binding is over, however it ended, while the bindings and watchdog live on', async () => {
		vi.useRealTimers();
		const watchdog = createWatchdog({ signalingGraceMs: 0 });
		const bindings: unknown[] = [];
		const sessions: Array<WeakRef<object>> = [];
		const live = { count: 0 };
		await (async () => {
			for (let i = 0; i < 50; i++) {
				const socket = new FakeWs();
				const controller = new AbortController();
				const webTransport = { closed: new Promise<unknown>(() => {}) };
				sessions.push(new WeakRef(socket), new WeakRef(controller.signal), new WeakRef(webTransport));
				bindings.push(watchdog.bindSession(`clean-${i}`, socket, { heartbeatMs: 60_000 }));
				socket.peerClose(1000);
				bindings.push(watchdog.bindSession(`lost-${i}`, controller.signal));
				controller.abort(new DOMException('gone', 'TimeoutError'));
				// a promise that never settles: replaced, then unbound
				bindings.push(watchdog.bindSession(`replaced-${i}`, webTransport));
				bindings.push(watchdog.bindSession(`replaced-${i}`, new FakeWs()));
				const unbound = watchdog.bindSession(`unbound-${i}`, new FakeWs());
				unbound.unbind();
				bindings.push(unbound);
			}
			await new Promise((resolve) => setTimeout(resolve, 20)); // every grace (0 ms) runs out
		})();
		await heapAfterGc();
		for (const ref of sessions) if (ref.deref() !== undefined) live.count += 1;
		expect(live.count).toBe(0);
		expect(bindings).toHaveLength(250);
		watchdog.stop();
	});
});
