// bindSession() recognises each kind of signaling session by its shape and reads its end as clean
// (close the user's transports at once) or abrupt (reconnect grace): ws and DOM-style WebSockets by
// close code, Socket.IO by disconnect reason, WebTransport by its `closed` promise, AbortSignal by
// its reason. Anything else is a TypeError that says what was expected.
import { EventEmitter } from 'node:events';
import { describe, expect, it, vi } from 'vitest';
import type { CloseInfo, SessionEnd, SignalingSession, WatchableTransport, Watchdog } from '../../src/index.js';
import { createWatchdog } from '../../src/watchdog.js';
import { createFakeTransport } from '../helpers/fake-transport.js';
import { fakeTimersClock as clock, useFakeTimers } from '../helpers/manual-clock.js';

const GRACE_MS = 5_000;

useFakeTimers({ now: 0 });

/* ------------------------------------------------------------------ fake sessions */

/** The server side of a `ws` WebSocket: 'close' passes (code, reason as a Buffer). */
class FakeWs extends EventEmitter {
	readyState = 1;
	peerClose(code: number, reason = ''): void {
		this.readyState = 3;
		this.emit('close', code, Buffer.from(reason));
	}
}

/** A DOM-style WebSocket (undici, browsers): a CloseEvent with `code`, `reason`, `wasClean`. */
class FakeDomWebSocket extends EventTarget {
	readyState = 1;
	peerClose(code: number, reason = ''): void {
		this.readyState = 3;
		this.dispatchEvent(Object.assign(new Event('close'), { code, reason, wasClean: code !== 1006 }));
	}
}

/** A Socket.IO server socket: 'disconnect' passes (reason, description). */
class FakeSocketIo extends EventEmitter {
	readonly id = 'sio-1';
	readonly nsp = { name: '/' };
	connected = true;
	disconnect(reason: string): void {
		this.connected = false;
		this.emit('disconnect', reason, undefined);
	}
}

/** A WebTransport session whose `closed` the test settles. */
function fakeWebTransport() {
	let resolve!: (info: unknown) => void;
	let reject!: (error: unknown) => void;
	const closed = new Promise<unknown>((res, rej) => {
		resolve = res;
		reject = rej;
	});
	return { session: { ready: Promise.resolve(), closed }, resolve, reject };
}

/* ------------------------------------------------------------------ harness */

function setup(): { watchdog: Watchdog; closes: CloseInfo[]; add: (userId?: string) => void } {
	const watchdog = createWatchdog(
		{ inactivityTimeoutMs: Number.POSITIVE_INFINITY, connectTimeoutMs: Number.POSITIVE_INFINITY, signalingGraceMs: GRACE_MS },
		{ clock },
	);
	const closes: CloseInfo[] = [];
	watchdog.observer.on('close', (info) => closes.push(info));
	const add = (userId = 'alice'): void => {
		const { transport } = createFakeTransport({ appData: { userId } });
		watchdog.watch(transport as unknown as WatchableTransport);
		transport.connectClient();
	};
	return { watchdog, closes, add };
}

/**
 * Binds `session`, ends it with `end()`, and reports what happened to the user's transport:
 * closed at once, closed after the grace, or nothing.
 */
async function outcome(
	session: SignalingSession,
	end: () => void,
): Promise<{
	verdict: 'signaling-closed' | 'signaling-lost' | 'open';
	atMs: number | null;
	info: SessionEnd | undefined;
	detail: string | undefined;
}> {
	const { watchdog, closes, add } = setup();
	add();
	const binding = watchdog.bindSession('alice', session);
	end();
	await vi.advanceTimersByTimeAsync(0);
	if (closes.length > 0) {
		return { verdict: 'signaling-closed', atMs: Date.now(), info: binding.end, detail: closes[0]?.detail };
	}
	await vi.advanceTimersByTimeAsync(GRACE_MS);
	const close = closes[0];
	const result = {
		verdict: close ? (close.reason as 'signaling-closed' | 'signaling-lost') : ('open' as const),
		atMs: close ? Date.now() : null,
		info: binding.end,
		detail: close?.detail,
	};
	watchdog.stop();
	return result;
}

/* ------------------------------------------------------------------ tests */

describe('a ws WebSocket', () => {
	it.each([
		[1000, 'signaling-closed'],
		[1001, 'signaling-closed'],
		[1005, 'signaling-closed'],
		[1006, 'signaling-lost'],
		[1011, 'signaling-lost'],
		[1012, 'signaling-lost'],
		[4000, 'signaling-lost'],
	] as const)('closing with code %i ends the user with %s', async (code, verdict) => {
		const socket = new FakeWs();
		const result = await outcome(socket, () => socket.peerClose(code, code === 1000 ? 'bye' : ''));
		expect(result.verdict).toBe(verdict);
		expect(result.atMs).toBe(verdict === 'signaling-closed' ? 0 : GRACE_MS);
		expect(result.info).toMatchObject({ kind: 'ws', code, clean: verdict === 'signaling-closed', heartbeat: false });
		expect(result.detail).toContain(`WebSocket closed with code ${code}`);
		expect(socket.listenerCount('close')).toBe(0);
	});

	it('puts the close reason text in the detail and in the end', async () => {
		const socket = new FakeWs();
		const result = await outcome(socket, () => socket.peerClose(1000, 'user left the room'));
		expect(result.detail).toBe('WebSocket closed with code 1000 (user left the room)');
		expect(result.info?.reason).toBe('user left the room');
	});

	it('treats a socket already closed when bound as an abrupt end', async () => {
		const socket = new FakeWs();
		socket.readyState = 3;
		const result = await outcome(socket, () => {});
		expect(result.verdict).toBe('signaling-lost');
		expect(result.info).toMatchObject({ clean: false, reason: 'closed before bindSession()' });
	});
});

describe('a DOM-style WebSocket (addEventListener)', () => {
	it.each([
		[1000, 'signaling-closed'],
		[1001, 'signaling-closed'],
		[1006, 'signaling-lost'],
	] as const)('closing with code %i ends the user with %s', async (code, verdict) => {
		const socket = new FakeDomWebSocket();
		const removed = vi.spyOn(socket, 'removeEventListener');
		const result = await outcome(socket, () => socket.peerClose(code));
		expect(result.verdict).toBe(verdict);
		expect(result.info).toMatchObject({ kind: 'websocket', code });
		expect(removed).toHaveBeenCalledWith('close', expect.any(Function));
	});
});

describe('a Socket.IO server socket', () => {
	it.each([
		['client namespace disconnect', 'signaling-closed'],
		['server namespace disconnect', 'signaling-closed'],
		['transport close', 'signaling-lost'],
		['transport error', 'signaling-lost'],
		['ping timeout', 'signaling-lost'],
		['parse error', 'signaling-lost'],
		['forced close', 'signaling-lost'],
		['server shutting down', 'signaling-lost'],
		['forced server close', 'signaling-lost'],
	] as const)('disconnecting with "%s" ends the user with %s', async (reason, verdict) => {
		const socket = new FakeSocketIo();
		const result = await outcome(socket, () => socket.disconnect(reason));
		expect(result.verdict).toBe(verdict);
		expect(result.info).toMatchObject({ kind: 'socket.io', reason, code: undefined });
		expect(result.detail).toContain(`Socket.IO socket disconnected: ${reason}`);
		expect(socket.listenerCount('disconnect')).toBe(0);
	});

	it('treats a socket already disconnected when bound as an abrupt end', async () => {
		const socket = new FakeSocketIo();
		socket.connected = false;
		const result = await outcome(socket, () => {});
		expect(result.verdict).toBe('signaling-lost');
		expect(socket.listenerCount('disconnect')).toBe(0);
	});
});

describe('a WebTransport session', () => {
	it('ends the user at once when `closed` resolves with an application close', async () => {
		const { session, resolve } = fakeWebTransport();
		const result = await outcome(session, () => resolve({ closeCode: 4001, reason: 'left the call' }));
		expect(result.verdict).toBe('signaling-closed');
		expect(result.info).toMatchObject({ kind: 'webtransport', code: 4001, reason: 'left the call', clean: true });
		expect(result.detail).toBe('WebTransport session closed (closeCode:4001, reason:left the call)');
	});

	it('ends the user at once when `closed` resolves with code 0 and no reason (close() or a FIN)', async () => {
		const { session, resolve } = fakeWebTransport();
		const result = await outcome(session, () => resolve({ closeCode: 0, reason: '' }));
		expect(result.verdict).toBe('signaling-closed');
	});

	it('starts the grace when `closed` rejects (the W3C signal of a lost session)', async () => {
		const { session, reject } = fakeWebTransport();
		const error = new Error('Connection lost');
		const result = await outcome(session, () => reject(error));
		expect(result.verdict).toBe('signaling-lost');
		expect(result.info).toMatchObject({ clean: false, reason: 'Connection lost', cause: error });
		expect(result.detail).toBe(`WebTransport session lost: Connection lost; no new session bound within ${GRACE_MS} ms`);
	});

	it.each([
		[{ closeCode: 8, reason: '' }, 'an HTTP/2 RST_STREAM code and no reason'],
		[
			{ closeCode: 7, reason: 'Error [ERR_HTTP2_STREAM_ERROR]: Stream closed with error code NGHTTP2_REFUSED_STREAM' },
			'a Node error',
		],
	])('reads a resolved %o as lost (@fails-components/webtransport resolves on loss: %s)', async (info) => {
		const { session, resolve } = fakeWebTransport();
		const result = await outcome(session, () => resolve(info));
		expect(result.verdict).toBe('signaling-lost');
		expect(result.info).toMatchObject({ clean: false, code: info.closeCode });
	});
});

describe('an AbortSignal', () => {
	it('ends the user at once on abort()', async () => {
		const controller = new AbortController();
		const result = await outcome(controller.signal, () => controller.abort());
		expect(result.verdict).toBe('signaling-closed');
		expect(result.info).toMatchObject({ kind: 'abort-signal', clean: true });
		expect(result.detail).toMatch(/^AbortSignal aborted: /);
	});

	it('ends the user at once on abort(reason) with an ordinary reason', async () => {
		const controller = new AbortController();
		const result = await outcome(controller.signal, () => controller.abort('kicked by moderator'));
		expect(result.verdict).toBe('signaling-closed');
		expect(result.detail).toBe('AbortSignal aborted: kicked by moderator');
	});

	it('starts the grace when the reason is a TimeoutError (AbortSignal.timeout(), a missed app heartbeat)', async () => {
		const controller = new AbortController();
		const reason = new DOMException('no heartbeat for 30 s', 'TimeoutError');
		const result = await outcome(controller.signal, () => controller.abort(reason));
		expect(result.verdict).toBe('signaling-lost');
		expect(result.info).toMatchObject({ clean: false, cause: reason, reason: 'no heartbeat for 30 s' });
	});

	it('follows a signal that was already aborted when bound', async () => {
		const controller = new AbortController();
		controller.abort();
		const result = await outcome(controller.signal, () => {});
		expect(result.verdict).toBe('signaling-closed');
	});
});

describe('isClean', () => {
	it('overrides the verdict of the adapter (a Chromium 1001 treated as abrupt)', async () => {
		const { watchdog, closes, add } = setup();
		add();
		const socket = new FakeWs();
		const binding = watchdog.bindSession('alice', socket, { isClean: (end) => end.code === 1000 });
		socket.peerClose(1001);
		await vi.advanceTimersByTimeAsync(0);
		expect(closes).toEqual([]);
		expect(binding.state).toBe('grace');
		expect(binding.end).toMatchObject({ code: 1001, clean: false });
		await vi.advanceTimersByTimeAsync(GRACE_MS);
		expect(closes.map((c) => c.reason)).toEqual(['signaling-lost']);
	});

	it('keeps the adapter verdict when it throws', async () => {
		const { watchdog, closes, add } = setup();
		add();
		const socket = new FakeWs();
		watchdog.bindSession('alice', socket, {
			isClean: () => {
				throw new Error('bug in the app');
			},
		});
		socket.peerClose(1000);
		await vi.advanceTimersByTimeAsync(0);
		expect(closes.map((c) => c.reason)).toEqual(['signaling-closed']);
	});
});

describe('what bindSession() refuses', () => {
	it.each([
		['null', null],
		['a string', 'ws://example'],
		['a plain object', { id: 'x' }],
		['a Socket.IO client socket (nsp is a string)', Object.assign(new EventEmitter(), { nsp: '/', connected: true, id: 'c' })],
		['an object with a non-promise `closed`', { closed: true }],
	])('throws a TypeError naming what it expected for %s', (_label, session) => {
		const { watchdog } = setup();
		expect(() => watchdog.bindSession('alice', session as unknown as SignalingSession)).toThrow(TypeError);
		expect(() => watchdog.bindSession('alice', session as unknown as SignalingSession)).toThrow(
			/bindSession\(\) cannot follow this session \[userId:alice\]: expected a `ws` WebSocket .* a Socket\.IO server socket .* a WebTransport session .* or an AbortSignal; got /,
		);
	});

	it.each([
		[{ graceMs: -1 }, RangeError, /`graceMs` must be between 0 and 2147483647 ms, or Infinity to turn it off, got -1 \(number\)/],
		[{ graceMs: '10s' }, TypeError, /`graceMs` must be a number, got "10s" \(string\)/],
		[{ graceMs: Number.NaN }, RangeError, /`graceMs` must be between/],
		[{ heartbeatMs: 0 }, RangeError, /`heartbeatMs` must be between 1 and/],
		[{ isClean: true }, TypeError, /`isClean` must be a function, got true \(boolean\)/],
		[{ graceMS: 10 }, TypeError, /unknown option `graceMS` \(valid: graceMs, heartbeatMs, isClean\)/],
	])('validates options %o', (options, ErrorClass, message) => {
		const { watchdog } = setup();
		const bind = () => watchdog.bindSession('alice', new FakeWs(), options as never);
		expect(bind).toThrow(ErrorClass);
		expect(bind).toThrow(message);
	});

	it('refuses heartbeatMs for a session that cannot ping', () => {
		const { watchdog } = setup();
		expect(() => watchdog.bindSession('alice', new FakeSocketIo(), { heartbeatMs: 1_000 })).toThrow(
			'`heartbeatMs` needs a `ws` WebSocket with `ping()`, got a socket.io session [userId:alice]',
		);
	});

	it.each([[undefined], [''], [{}], [Number.NaN], [Number.POSITIVE_INFINITY]])('refuses the user id %o', (userId) => {
		const { watchdog } = setup();
		expect(() => watchdog.bindSession(userId as never, new FakeWs())).toThrow(
			/bindSession\(\) `userId` must be a non-empty string or a finite number/,
		);
	});

	it('accepts a numeric user id as its string', async () => {
		const { watchdog, closes, add } = setup();
		add('42');
		const socket = new FakeWs();
		const binding = watchdog.bindSession(42, socket);
		expect(binding.userId).toBe('42');
		socket.peerClose(1000);
		await vi.advanceTimersByTimeAsync(0);
		expect(closes.map((c) => c.userId)).toEqual(['42']);
	});

	it('leaves no listener behind when it throws', () => {
		const { watchdog } = setup();
		const socket = new FakeWs();
		expect(() => watchdog.bindSession('alice', socket, { graceMs: -5 })).toThrow(RangeError);
		expect(socket.listenerCount('close')).toBe(0);
	});
});
