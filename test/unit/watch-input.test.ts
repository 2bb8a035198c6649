// What watchTransport() accepts: a WebRtcTransport recognised by shape (anything else is a clear
// TypeError), a policy or plain options normalised like definePolicy(), a user to charge, and a
// transport in whatever state it is when watched.
import { describe, expect, it, vi } from 'vitest';
import { definePolicy, type WatchableTransport, type WatchdogPolicyOptions, watchTransport } from '../../src/index.js';
import { createFakeTransport, FakeWebRtcTransport } from '../helpers/fake-transport.js';
import { useFakeTimers } from '../helpers/manual-clock.js';
import { recordEvents } from '../helpers/watch-events.js';

useFakeTimers();

const quiet = (overrides: WatchdogPolicyOptions = {}) =>
	definePolicy({ inactivityTimeoutMs: Number.POSITIVE_INFINITY, ...overrides });

/** Calls watchTransport with input the types forbid, as plain JavaScript callers can. */
const watchUnchecked = (transport: unknown, policy: unknown = quiet(), options?: unknown) =>
	watchTransport(transport as WatchableTransport, policy as WatchdogPolicyOptions, options as undefined);

function errorOf(run: () => unknown): Error {
	try {
		run();
	} catch (error) {
		return error as Error;
	}
	throw new Error('did not throw');
}

/** Named like mediasoup's class, so the error can say what it got. */
class PlainTransport {
	constructor(fields: Record<string, unknown>) {
		Object.assign(this, fields);
	}
}

/** A PlainTransport as mediasoup 3.12 shapes it: a transport, but no ICE, no DTLS, no restartIce(). */
function plainTransportLike(): Record<string, unknown> {
	const transport = new FakeWebRtcTransport({ appData: { userId: 'alice' } });
	return new PlainTransport({
		id: transport.id,
		closed: false,
		appData: transport.appData,
		observer: transport.observer,
		tuple: { localIp: '127.0.0.1', localPort: 40_000, protocol: 'udp' },
		on: transport.on.bind(transport),
		off: transport.off.bind(transport),
		getStats: transport.getStats.bind(transport),
		close: transport.close.bind(transport),
		connect: async () => {},
	}) as Record<string, unknown>;
}

describe('the transport', () => {
	it('refuses null, undefined, numbers and plain objects with a TypeError that says what it expects', () => {
		for (const [value, shown] of [
			[null, 'null'],
			[undefined, 'undefined (undefined)'],
			[42, '42 (number)'],
			[{}, 'an Object'],
			['transport', '"transport" (string)'],
		] as const) {
			const error = errorOf(() => watchUnchecked(value));
			expect(error).toBeInstanceOf(TypeError);
			expect(error.message).toBe(
				`watchTransport() expects a mediasoup WebRtcTransport (with iceState, dtlsState, restartIce() and an observer), got ${shown}`,
			);
		}
	});

	it('refuses a PlainTransport-like object (no iceState, dtlsState or restartIce) and adds no listener to it', () => {
		const plain = plainTransportLike();
		const error = errorOf(() => watchUnchecked(plain));
		expect(error).toBeInstanceOf(TypeError);
		expect(error.message).toMatch(/^watchTransport\(\) expects a mediasoup WebRtcTransport .*, got a PlainTransport$/);
		expect((plain.observer as FakeWebRtcTransport['observer']).eventNames()).toEqual([]);
		expect(vi.getTimerCount()).toBe(0);
	});

	it('refuses an object that has everything but an observer', () => {
		const { transport } = createFakeTransport();
		const withoutObserver = Object.create(transport, { observer: { value: undefined } });
		expect(() => watchUnchecked(withoutObserver)).toThrow(TypeError);
	});

	it('refuses a closed transport and names it', () => {
		const { transport } = createFakeTransport();
		transport.close();
		const error = errorOf(() => watchTransport(transport, quiet()));
		expect(error).toBeInstanceOf(TypeError);
		expect(error.message).toBe(`watchTransport() got a closed transport [transportId:${transport.id}]`);
		expect(transport.watchListenerCount()).toBe(0);
	});

	it('recognises a transport from another copy of mediasoup by its shape, not by instanceof', () => {
		const { transport } = createFakeTransport();
		const copy = {
			id: transport.id,
			get closed() {
				return transport.closed;
			},
			get iceState() {
				return transport.iceState;
			},
			get dtlsState() {
				return transport.dtlsState;
			},
			appData: transport.appData,
			observer: transport.observer,
			on: transport.on.bind(transport),
			off: transport.off.bind(transport),
			restartIce: transport.restartIce.bind(transport),
			getStats: transport.getStats.bind(transport),
			close: transport.close.bind(transport),
		};
		const watch = watchTransport(copy, quiet());
		transport.connectClient();
		expect(watch.state).toBe('connected');
	});
});

describe('the transport state when watched', () => {
	it('starts `connected` with no deadline and no `connect` event when DTLS already connected', () => {
		const { transport } = createFakeTransport({ iceState: 'completed', dtlsState: 'connected' });
		const watch = watchTransport(transport, quiet());
		const events = recordEvents(watch);
		expect(watch.state).toBe('connected');
		expect(watch.connectedOnce).toBe(true);
		expect(vi.getTimerCount()).toBe(0);
		transport.clientCloseNotify();
		expect(events.of('connect')).toEqual([]);
		expect(events.of('close')[0]).toMatchObject({ reason: 'dtls-closed', connectedOnce: true, timeToConnectMs: 0 });
	});

	it('starts `disconnected` with its grace when watched connected but ICE-disconnected', async () => {
		const { transport } = createFakeTransport({ iceState: 'disconnected', dtlsState: 'connected' });
		const watch = watchTransport(transport, quiet({ disconnectGraceMs: 2_000 }));
		expect(watch.state).toBe('disconnected');
		await vi.advanceTimersByTimeAsync(2_000);
		expect(watch.closeReason).toBe('ice-disconnected');
		expect(transport.closed).toBe(true);
	});

	it('closes with `dtls-failed` right after watch() returns when DTLS had already failed', async () => {
		const { transport } = createFakeTransport({ dtlsState: 'failed' });
		const watch = watchTransport(transport, quiet());
		const events = recordEvents(watch);
		expect(watch.state).toBe('connecting');
		const info = await watch.closed;
		expect(info).toMatchObject({ reason: 'dtls-failed', closedByWatchdog: true, detail: 'DTLS had already failed when watched' });
		expect(events.of('close')).toEqual([info]);
		expect(transport.closed).toBe(true);
		expect(vi.getTimerCount()).toBe(0);
	});

	it('closes with `dtls-closed` right after watch() returns when the client had already sent close_notify', async () => {
		const { transport } = createFakeTransport({ dtlsState: 'closed' });
		const watch = watchTransport(transport, quiet());
		expect((await watch.closed).reason).toBe('dtls-closed');
		expect(transport.closed).toBe(true);
		expect(transport.watchListenerCount()).toBe(0);
	});

	it('keeps the deadline for a transport whose handshake is under way', async () => {
		const { transport } = createFakeTransport({ iceState: 'connected', dtlsState: 'connecting' });
		const watch = watchTransport(transport, quiet({ connectTimeoutMs: 500 }));
		await vi.advanceTimersByTimeAsync(500);
		expect(watch.closeReason).toBe('connect-timeout');
	});
});

describe('the policy argument', () => {
	it('normalises plain options like definePolicy(), with the same errors', () => {
		const { transport } = createFakeTransport();
		const error = errorOf(() => watchUnchecked(transport, { connectTimeout: 1_000 }));
		expect(error).toBeInstanceOf(TypeError);
		expect(error.message).toContain('unknown option `connectTimeout` set to 1000 (number); did you mean `connectTimeoutMs`?');
		expect(errorOf(() => watchUnchecked(transport, { connectTimeoutMs: -5 }))).toBeInstanceOf(RangeError);
		expect(errorOf(() => watchUnchecked(transport, null)).message).toBe('`policy` must be an object, got null');
		expect(transport.watchListenerCount()).toBe(0);
	});

	it('applies plain options exactly like the same options through definePolicy()', async () => {
		const { transport } = createFakeTransport();
		const watch = watchTransport(transport, { connectTimeoutMs: 700, inactivityTimeoutMs: Number.POSITIVE_INFINITY });
		await vi.advanceTimersByTimeAsync(699);
		expect(watch.state).toBe('connecting');
		await vi.advanceTimersByTimeAsync(1);
		expect(watch.closeReason).toBe('connect-timeout');
	});

	it('uses the defaults when no policy is given', async () => {
		const { transport } = createFakeTransport();
		const watch = watchTransport(transport);
		await vi.advanceTimersByTimeAsync(14_999);
		expect(watch.state).toBe('connecting');
		await vi.advanceTimersByTimeAsync(1);
		expect(watch.closeReason).toBe('connect-timeout');
	});
});

describe('the user', () => {
	it('refuses a transport without a user while per-user limits are on, and says how to fix it', () => {
		const transport = new FakeWebRtcTransport({ appData: {} });
		const error = errorOf(() => watchTransport(transport, quiet()));
		expect(error).toBeInstanceOf(TypeError);
		expect(error.message).toContain(`cannot tell which user owns transport [transportId:${transport.id}]`);
		expect(error.message).toContain('`appData.userId`');
		expect(error.message).toContain('`{ userId }`');
		expect(transport.watchListenerCount()).toBe(0);
		expect(vi.getTimerCount()).toBe(0);
	});

	it('takes the user from the watch options before the policy', () => {
		const { transport } = createFakeTransport();
		expect(watchTransport(transport, quiet(), { userId: 7 }).userId).toBe('7');
	});

	it('takes the user from the policy`s userId function', () => {
		const transport = new FakeWebRtcTransport({ appData: { peer: { id: 'carol' } } });
		const policy = quiet({ userId: (t) => (t.appData as { peer: { id: string } }).peer.id });
		expect(watchTransport(transport, policy).userId).toBe('carol');
	});

	it('wraps a throwing userId function in a TypeError that keeps the cause', () => {
		const transport = new FakeWebRtcTransport({ appData: {} });
		const cause = new Error('no peer');
		const policy = quiet({
			userId: () => {
				throw cause;
			},
		});
		const error = errorOf(() => watchTransport(transport, policy));
		expect(error).toBeInstanceOf(TypeError);
		expect(error.cause).toBe(cause);
		expect(error.message).toContain('`userId` threw');
	});

	it('refuses a userId function that returns something other than a string or a number', () => {
		const transport = new FakeWebRtcTransport({ appData: {} });
		const policy = quiet({ userId: () => ({ id: 1 }) as unknown as string });
		expect(errorOf(() => watchTransport(transport, policy)).message).toContain(
			'watchTransport() `userId` must be a non-empty string or a finite number, got object',
		);
	});

	it('refuses an empty userId wherever it comes from, like closeUser() and canCreate(), and leaves nothing behind', () => {
		const limitsOff = { iceRestart: { perUser: false }, maxPendingPerUser: Number.POSITIVE_INFINITY } as const;
		const cases: Array<[string, () => { transport: FakeWebRtcTransport; run: () => unknown }]> = [
			[
				'`appData.userId`',
				() => {
					const transport = new FakeWebRtcTransport({ appData: { userId: '' } });
					return { transport, run: () => watchTransport(transport, quiet()) };
				},
			],
			[
				'the watch options (`{ userId }`)',
				() => {
					const transport = new FakeWebRtcTransport({ appData: { userId: 'alice' } });
					return { transport, run: () => watchTransport(transport, quiet(), { userId: '' }) };
				},
			],
			[
				"the policy's `userId` function",
				() => {
					const transport = new FakeWebRtcTransport({ appData: {} });
					return { transport, run: () => watchTransport(transport, quiet({ userId: () => '' })) };
				},
			],
			[
				'`appData.userId`',
				() => {
					const transport = new FakeWebRtcTransport({ appData: { userId: '' } });
					return { transport, run: () => watchTransport(transport, quiet(limitsOff)) };
				},
			],
		];
		for (const [source, make] of cases) {
			const { transport, run } = make();
			const error = errorOf(run);
			expect(error).toBeInstanceOf(TypeError);
			expect(error.message).toBe(
				`watchTransport() \`userId\` must be a non-empty string or a finite number, got "" from ${source} [transportId:${transport.id}]`,
			);
			expect(transport.watchListenerCount()).toBe(0);
		}
		expect(vi.getTimerCount()).toBe(0);
	});

	it('refuses a user id that is not a finite number (a failed parse), naming it', () => {
		const transport = new FakeWebRtcTransport({ appData: { userId: Number.NaN } });
		expect(errorOf(() => watchTransport(transport, quiet())).message).toBe(
			`watchTransport() \`userId\` must be a non-empty string or a finite number, got NaN from \`appData.userId\` [transportId:${transport.id}]`,
		);
		expect(transport.watchListenerCount()).toBe(0);
	});

	it('names where a userId of the wrong type came from', () => {
		const transport = new FakeWebRtcTransport({ appData: {} });
		const options = { userId: true } as unknown as { userId: string };
		expect(errorOf(() => watchTransport(transport, quiet(), options)).message).toBe(
			`watchTransport() \`userId\` must be a non-empty string or a finite number, got boolean from the watch options (\`{ userId }\`) [transportId:${transport.id}]`,
		);
	});

	it('needs no user when every per-user limit is off', () => {
		const transport = new FakeWebRtcTransport({ appData: {} });
		const watch = watchTransport(
			transport,
			quiet({ iceRestart: { perUser: false }, maxPendingPerUser: Number.POSITIVE_INFINITY }),
		);
		expect(watch.userId).toBeUndefined();
		expect(watch.state).toBe('connecting');
	});
});
