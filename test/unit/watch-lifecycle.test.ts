// The handle's life: stop() versus close(), `closed` settling exactly once, Symbol.dispose, an
// AbortSignal, listeners that throw, watching the same transport twice, and no reference to the
// transport kept once the watch has ended.
import { execFile } from 'node:child_process';
import { getEventListeners } from 'node:events';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it, vi } from 'vitest';
import {
	definePolicy,
	type TransportWatch,
	type WatchableTransport,
	type WatchdogPolicyOptions,
	watchTransport,
} from '../../src/index.js';
import { createWatchdog } from '../../src/watchdog.js';
import { createFakeTransport, FakeWebRtcTransport } from '../helpers/fake-transport.js';
import { ManualClock, useFakeTimers } from '../helpers/manual-clock.js';
import { recordEvents } from '../helpers/watch-events.js';

useFakeTimers();

const quiet = (overrides: WatchdogPolicyOptions = {}) =>
	definePolicy({ inactivityTimeoutMs: Number.POSITIVE_INFINITY, ...overrides });

function setup(overrides: WatchdogPolicyOptions = {}) {
	const policy = quiet(overrides);
	const { worker, router, transport } = createFakeTransport();
	const watch = watchTransport(transport, policy, { worker });
	return { policy, worker, router, transport, watch, events: recordEvents(watch) };
}

describe('stop() versus close()', () => {
	it('stop() releases everything and leaves the transport open, with no `close` event', async () => {
		const { watch, transport, events } = setup();
		transport.connectClient();
		watch.stop();
		expect(watch.state).toBe('stopped');
		expect(watch.closeReason).toBe('stopped');
		expect(watch.transport).toBeUndefined();
		expect(transport.closed).toBe(false);
		expect(transport.watchListenerCount()).toBe(0);
		expect(vi.getTimerCount()).toBe(0);
		expect(events.of('close')).toEqual([]);
		expect(events.transitions()).toEqual(['connecting→connected', 'connected→stopped']);
		expect(await watch.closed).toMatchObject({ reason: 'stopped', clean: true, closedByWatchdog: false, connectedOnce: true });
	});

	it('stop() cancels the deadline: a stopped transport is never closed by the watchdog', async () => {
		const { watch, transport } = setup({ connectTimeoutMs: 1_000 });
		watch.stop();
		await vi.advanceTimersByTimeAsync(60_000);
		expect(transport.closed).toBe(false);
		expect(watch.closeReason).toBe('stopped');
	});

	it('ignores what the transport does after stop()', async () => {
		const { watch, transport, events } = setup({ disconnectGraceMs: 10 });
		transport.connectClient();
		watch.stop();
		transport.emitIceState('disconnected');
		transport.clientCloseNotify();
		transport.close();
		await vi.advanceTimersByTimeAsync(1_000);
		expect(watch.closeReason).toBe('stopped');
		expect(events.names()).toEqual(['statechange', 'connect', 'statechange']);
	});

	it('close() after stop() does nothing: the transport stays open', async () => {
		const { watch, transport } = setup();
		watch.stop();
		watch.close();
		expect(transport.closed).toBe(false);
		expect((await watch.closed).reason).toBe('stopped');
	});

	it('stop() after close() does nothing: the reason stays `app`', async () => {
		const { watch, transport, events } = setup();
		watch.close();
		watch.stop();
		expect(transport.closed).toBe(true);
		expect(watch.state).toBe('closed');
		expect((await watch.closed).reason).toBe('app');
		expect(events.of('close')).toHaveLength(1);
	});

	it('Symbol.dispose stops the watch (the transport stays open), so `using` scopes a watch', async () => {
		const { transport } = createFakeTransport();
		let escaped: TransportWatch<typeof transport> | undefined;
		{
			using watch = watchTransport(transport, quiet());
			escaped = watch;
			expect(watch.state).toBe('connecting');
		}
		expect(escaped.state).toBe('stopped');
		expect(transport.closed).toBe(false);
		expect(transport.watchListenerCount()).toBe(0);
		expect(vi.getTimerCount()).toBe(0);
	});
});

describe('`closed` settles once', () => {
	it('settles once with the first reason even when more endings follow', async () => {
		const { watch, worker, transport, events } = setup();
		const settled = vi.fn();
		void watch.closed.then(settled);
		transport.connectClient();
		transport.clientCloseNotify();
		watch.close('later');
		watch.stop();
		worker.die();
		await vi.advanceTimersByTimeAsync(60_000);
		expect(settled).toHaveBeenCalledTimes(1);
		expect(settled.mock.calls[0]?.[0]).toMatchObject({ reason: 'dtls-closed' });
		expect(watch.closeReason).toBe('dtls-closed');
		expect(events.of('close')).toHaveLength(1);
	});

	it('returns the same promise every time and gives a frozen CloseInfo, equal to the `close` payload', async () => {
		const { watch, events } = setup();
		expect(watch.closed).toBe(watch.closed);
		watch.close('bye');
		const info = await watch.closed;
		expect(Object.isFrozen(info)).toBe(true);
		expect(events.of('close')[0]).toBe(info);
	});

	it('never rejects, even when closing the transport throws', async () => {
		const { transport } = createFakeTransport();
		const watch = watchTransport(transport, quiet());
		const close = transport.close.bind(transport);
		transport.close = () => {
			close();
			throw new Error('close failed');
		};
		watch.close();
		expect(await watch.closed).toMatchObject({ reason: 'app', closedByWatchdog: true });
		expect(transport.watchListenerCount()).toBe(0);
	});

	it('emits `close` after the last `statechange`, and removes the listeners of the handle afterwards', async () => {
		const { watch, events } = setup();
		watch.close();
		expect(events.names()).toEqual(['statechange', 'close']);
		expect(watch.listenerCount()).toBe(0);
	});
});

describe('listeners that throw', () => {
	it('turns a throwing listener into `listenererror` and keeps watching', async () => {
		const { watch, transport, events } = setup({ disconnectGraceMs: 1_000 });
		const boom = new Error('app bug');
		watch.on('connect', () => {
			throw boom;
		});
		const after = vi.fn();
		watch.on('connect', after);
		transport.connectClient();
		expect(after).toHaveBeenCalledTimes(1);
		expect(events.of('listenererror')).toEqual([{ event: 'connect', error: boom }]);
		expect(watch.state).toBe('connected');
		transport.emitIceState('disconnected');
		await vi.advanceTimersByTimeAsync(1_000);
		expect(watch.closeReason).toBe('ice-disconnected');
		expect(transport.closed).toBe(true);
		expect(transport.allListenerErrors()).toEqual([]);
	});

	it('settles `closed` and releases everything even when a `close` or `statechange` listener throws', async () => {
		const { watch, transport, events } = setup();
		watch.on('statechange', () => {
			throw new Error('statechange bug');
		});
		watch.on('close', () => {
			throw new Error('close bug');
		});
		transport.clientCloseNotify();
		expect((await watch.closed).reason).toBe('dtls-closed');
		expect(events.of('listenererror').map(({ event }) => event)).toEqual(['statechange', 'close']);
		expect(transport.watchListenerCount()).toBe(0);
		expect(vi.getTimerCount()).toBe(0);
		expect(transport.allListenerErrors()).toEqual([]);
	});

	it('does not loop when a `listenererror` listener throws as well', () => {
		const { watch, transport } = setup();
		const onError = vi.fn(() => {
			throw new Error('handler bug');
		});
		watch.on('listenererror', onError);
		watch.on('connect', () => {
			throw new Error('app bug');
		});
		transport.connectClient();
		expect(onError).toHaveBeenCalledTimes(1);
		expect(watch.state).toBe('connected');
	});

	it('calls a `once` listener once', () => {
		const { watch, transport } = setup({ disconnectGraceMs: 1_000 });
		const onDisconnect = vi.fn();
		watch.once('disconnect', onDisconnect);
		transport.connectClient();
		transport.emitIceState('disconnected');
		transport.emitIceState('connected');
		transport.emitIceState('disconnected');
		expect(onDisconnect).toHaveBeenCalledTimes(1);
	});

	it('removes a `once` listener with off(), as Node`s EventEmitter does, and counts it gone', () => {
		const { watch, transport } = setup();
		const before = watch.listenerCount('statechange');
		const onState = vi.fn();
		watch.once('statechange', onState);
		expect(watch.listenerCount('statechange')).toBe(before + 1);
		watch.off('statechange', onState);
		expect(watch.listenerCount('statechange')).toBe(before);
		transport.connectClient();
		expect(watch.state).toBe('connected');
		expect(onState).not.toHaveBeenCalled();
	});

	it('removes the last added of a listener that is both `on` and `once`, one per off()', () => {
		const { watch, transport } = setup({ disconnectGraceMs: 1_000 });
		const before = watch.listenerCount('disconnect');
		const onDisconnect = vi.fn();
		watch.on('disconnect', onDisconnect);
		watch.once('disconnect', onDisconnect);
		expect(watch.listenerCount('disconnect')).toBe(before + 2);
		watch.off('disconnect', onDisconnect);
		expect(watch.listenerCount('disconnect')).toBe(before + 1);
		transport.connectClient();
		transport.emitIceState('disconnected');
		transport.emitIceState('connected');
		transport.emitIceState('disconnected');
		// The `on` listener stayed: called at each disconnect, once per event.
		expect(onDisconnect).toHaveBeenCalledTimes(2);
		watch.off('disconnect', onDisconnect);
		expect(watch.listenerCount('disconnect')).toBe(before);
	});
});

describe('an AbortSignal', () => {
	it('stops the watch when aborted, leaving the transport open', async () => {
		const controller = new AbortController();
		const { transport } = createFakeTransport();
		const watch = watchTransport(transport, quiet(), { signal: controller.signal });
		expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
		controller.abort();
		expect(watch.state).toBe('stopped');
		expect(transport.closed).toBe(false);
		expect((await watch.closed).reason).toBe('stopped');
		expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
		expect(vi.getTimerCount()).toBe(0);
	});

	it('stops at once when the signal was already aborted, and arms nothing', async () => {
		const { transport } = createFakeTransport();
		const watch = watchTransport(transport, quiet(), { signal: AbortSignal.abort() });
		expect(watch.state).toBe('stopped');
		expect(transport.watchListenerCount()).toBe(0);
		expect(vi.getTimerCount()).toBe(0);
		expect((await watch.closed).reason).toBe('stopped');
	});

	it('lets go of the signal when the watch closes for another reason', async () => {
		const controller = new AbortController();
		const { transport } = createFakeTransport();
		const watch = watchTransport(transport, quiet(), { signal: controller.signal });
		transport.close();
		expect((await watch.closed).reason).toBe('transport-closed');
		expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
		controller.abort();
		expect(watch.closeReason).toBe('transport-closed');
	});
});

describe('watching the same transport twice', () => {
	it('returns the existing watch for the same policy', () => {
		const policy = quiet();
		const { transport } = createFakeTransport();
		const first = watchTransport(transport, policy);
		const second = watchTransport(transport, policy, { userId: 'bob' });
		expect(second).toBe(first);
		expect(second.userId).toBe('alice');
		expect(transport.watchListenerCount()).toBe(7); // six of the watch's own + newproducer (liveness hints)
		expect(vi.getTimerCount()).toBe(1);
	});

	it('refuses a second watch with another policy while the first is active', () => {
		const { transport } = createFakeTransport();
		watchTransport(transport, quiet());
		expect(() => watchTransport(transport, quiet())).toThrow(
			new TypeError(
				`watchTransport() transport is already watched with another policy [transportId:${transport.id}]: stop() that watch first`,
			),
		);
	});

	it('starts a new watch once the previous one was stopped', () => {
		const policy = quiet();
		const { transport } = createFakeTransport();
		const first = watchTransport(transport, policy);
		first.stop();
		const second = watchTransport(transport, quiet());
		expect(second).not.toBe(first);
		expect(second.state).toBe('connecting');
		expect(transport.watchListenerCount()).toBe(7); // six of the watch's own + newproducer (liveness hints)
	});
});

describe('an injected clock', () => {
	it('drives the deadline through createWatchdog(policy, { clock }) with no fake timers', async () => {
		vi.useRealTimers();
		const clock = new ManualClock();
		const watchdog = createWatchdog(quiet({ connectTimeoutMs: 2_000 }), { clock });
		const { transport } = createFakeTransport();
		const watch = watchdog.watch(transport);
		expect(clock.pending()).toBe(1);
		await clock.advance(1_999);
		expect(watch.state).toBe('connecting');
		await clock.advance(1);
		const info = await watch.closed;
		expect(info).toMatchObject({ reason: 'connect-timeout', durationMs: 2_000 });
		expect(clock.pending()).toBe(0);
		expect(transport.closed).toBe(true);
	});
});

describe('no reference kept', () => {
	setFlagsFromString('--expose-gc');
	const gc = runInNewContext('gc') as () => void;

	async function collected(ref: WeakRef<object>): Promise<boolean> {
		for (let i = 0; i < 10 && ref.deref() !== undefined; i++) {
			await new Promise((resolve) => setImmediate(resolve));
			gc();
		}
		return ref.deref() === undefined;
	}

	function watchedTransport(policy: ReturnType<typeof quiet>): {
		ref: WeakRef<FakeWebRtcTransport>;
		watch: TransportWatch<WatchableTransport>;
		transport: FakeWebRtcTransport;
	} {
		const transport = new FakeWebRtcTransport({ appData: { userId: 'alice' } });
		const watch = watchTransport(transport, policy) as unknown as TransportWatch<WatchableTransport>;
		return { ref: new WeakRef(transport), watch, transport };
	}

	for (const how of ['close', 'stop', 'connect-timeout', 'dtls-closed'] as const) {
		it(`lets the transport be garbage-collected after the watch ends (${how}) while the watch is still held`, async () => {
			vi.useRealTimers();
			const policy = quiet({ connectTimeoutMs: 20 });
			let held: ReturnType<typeof watchedTransport> | undefined = watchedTransport(policy);
			const { ref, watch } = held;
			if (how === 'close') watch.close();
			if (how === 'stop') watch.stop();
			if (how === 'connect-timeout') await new Promise((resolve) => setTimeout(resolve, 40));
			if (how === 'dtls-closed') held.transport.clientCloseNotify();
			held = undefined;
			expect(watch.closeReason).toBe(how === 'close' ? 'app' : how === 'stop' ? 'stopped' : how);
			expect(await collected(ref)).toBe(true);
			expect(watch.transport).toBeUndefined();
		});
	}

	it('keeps the transport while the watch is active (the control for the test above)', async () => {
		vi.useRealTimers();
		const policy = quiet({ connectTimeoutMs: Number.POSITIVE_INFINITY });
		let held: ReturnType<typeof watchedTransport> | undefined = watchedTransport(policy);
		const { ref, watch } = held;
		held = undefined;
		expect(await collected(ref)).toBe(false);
		watch.stop();
	});
});

describe('the process', () => {
	it('is never kept alive by a watch: every timer is unref()ed', async () => {
		vi.useRealTimers();
		const root = fileURLToPath(new URL('../../', import.meta.url));
		// A deadline and a disconnect grace of a minute each are armed; the process must still exit at once.
		const script = `
			import { watchTransport } from ${JSON.stringify(`${root}src/index.ts`)};
			import { createFakeTransport } from ${JSON.stringify(`${root}test/helpers/fake-transport.ts`)};
			const connecting = watchTransport(createFakeTransport().transport, { connectTimeoutMs: 60_000 });
			const { transport } = createFakeTransport({ appData: { userId: 'bob' } });
			const disconnected = watchTransport(transport, { disconnectGraceMs: 60_000, inactivityTimeoutMs: 60_000 });
			transport.connectClient();
			transport.emitIceState('disconnected');
			console.log(connecting.state, disconnected.state);
		`;
		const startedAt = performance.now();
		const stdout = await new Promise<string>((resolve, reject) => {
			execFile(
				process.execPath,
				['--import', 'tsx', '--input-type=module', '--eval', script],
				{ cwd: root, timeout: 30_000 },
				(error, out) => (error ? reject(error) : resolve(out)),
			);
		});
		const elapsedMs = performance.now() - startedAt;
		expect(stdout.trim()).toBe('connecting disconnected');
		expect(elapsedMs).toBeLessThan(30_000);
	});
});
