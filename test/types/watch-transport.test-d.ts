// Public types of the front door: mediasoup 3.12.16 and 3.27 WebRtcTransports are accepted,
// their appData type survives into the watch, and what is not a WebRtcTransport (or is not a
// valid policy) fails to compile.
import type { types as ms312 } from 'mediasoup';
import type { types as ms327 } from 'mediasoup-latest';
import { describe, expectTypeOf, it } from 'vitest';
import {
	type CloseInfo,
	type CloseReason,
	createWatchdog,
	definePolicy,
	type IceParametersLike,
	type TransportWatch,
	type TransportWatchEvents,
	type WatchdogPolicy,
	type WatchState,
	watchTransport,
} from '../../src/index.js';

type PeerData = { userId: string; roomId: number };

declare const transport312: ms312.WebRtcTransport<PeerData>;
declare const transport327: ms327.WebRtcTransport<PeerData>;
declare const untyped312: ms312.WebRtcTransport;
declare const untyped327: ms327.WebRtcTransport;
declare const plain312: ms312.PlainTransport<PeerData>;
declare const plain327: ms327.PlainTransport<PeerData>;
declare const pipe312: ms312.PipeTransport;
declare const direct327: ms327.DirectTransport;
declare const worker312: ms312.Worker;
declare const worker327: ms327.Worker;

describe('watchTransport() with mediasoup 3.12.16', () => {
	it('accepts a WebRtcTransport and keeps its type, appData included', () => {
		const watch = watchTransport(transport312, definePolicy());
		expectTypeOf(watch).toEqualTypeOf<TransportWatch<ms312.WebRtcTransport<PeerData>>>();
		expectTypeOf(watch.transport).toEqualTypeOf<ms312.WebRtcTransport<PeerData> | undefined>();
		expectTypeOf(watch.transport?.appData.userId).toEqualTypeOf<string | undefined>();
		expectTypeOf(watch.transport?.appData.roomId).toEqualTypeOf<number | undefined>();
		expectTypeOf(watch.transport?.iceState).toEqualTypeOf<ms312.IceState | undefined>();
	});

	it('accepts a WebRtcTransport with the default appData, the worker in the options, and no policy', () => {
		const watch = watchTransport(untyped312, undefined, { worker: worker312, userId: 'u1' });
		expectTypeOf(watch.transport?.appData).toEqualTypeOf<ms312.AppData | undefined>();
	});

	it('refuses a PlainTransport and a PipeTransport', () => {
		// @ts-expect-error a PlainTransport has no iceState, dtlsState or restartIce()
		watchTransport(plain312, definePolicy());
		// @ts-expect-error a PipeTransport is not a WebRtcTransport either
		watchTransport(pipe312);
	});
});

describe('watchTransport() with mediasoup 3.27', () => {
	it('accepts a WebRtcTransport and keeps its type, appData included', () => {
		const watch = watchTransport(transport327, definePolicy());
		expectTypeOf(watch).toEqualTypeOf<TransportWatch<ms327.WebRtcTransport<PeerData>>>();
		expectTypeOf(watch.transport?.appData.userId).toEqualTypeOf<string | undefined>();
		expectTypeOf(watch.transport?.dtlsState).toEqualTypeOf<ms327.DtlsState | undefined>();
	});

	it('accepts a WebRtcTransport with the default appData and a 3.27 worker', () => {
		const watch = watchTransport(untyped327, { connectTimeoutMs: 5_000 }, { worker: worker327 });
		expectTypeOf(watch.transport?.appData).toEqualTypeOf<ms327.AppData | undefined>();
	});

	it('refuses a PlainTransport and a DirectTransport', () => {
		// @ts-expect-error a PlainTransport has no iceState, dtlsState or restartIce()
		watchTransport(plain327);
		// @ts-expect-error a DirectTransport is not a WebRtcTransport
		watchTransport(direct327);
	});

	it('takes one policy for transports of both versions', () => {
		const policy = definePolicy({ connectTimeoutMs: 5_000 });
		watchTransport(transport312, policy);
		watchTransport(transport327, policy);
	});
});

describe('refused shapes', () => {
	it('refuses null, a string and an object that lacks iceState', () => {
		// @ts-expect-error null is not a transport
		watchTransport(null);
		// @ts-expect-error a string is not a transport
		watchTransport('transport-id');
		const { iceState: _dropped, ...withoutIceState } = {
			id: 't',
			closed: false,
			iceState: 'new',
			dtlsState: 'new',
			appData: {},
			observer: transport312.observer,
			on: transport312.on.bind(transport312),
			off: transport312.off.bind(transport312),
			restartIce: transport312.restartIce.bind(transport312),
			getStats: transport312.getStats.bind(transport312),
			close: transport312.close.bind(transport312),
		};
		// @ts-expect-error iceState is missing
		watchTransport(withoutIceState);
	});
});

describe('the policy', () => {
	it('types the userId function with the transport appData', () => {
		const policy = definePolicy<PeerData>({ userId: (transport) => transport.appData.userId });
		expectTypeOf(policy).toEqualTypeOf<WatchdogPolicy<PeerData>>();
		watchTransport(transport312, policy);
		watchTransport(transport327, policy);
		watchTransport(transport312, {
			userId: (transport) => {
				expectTypeOf(transport.appData).toEqualTypeOf<PeerData>();
				return transport.appData.roomId;
			},
		});
	});

	it('refuses options of the wrong type', () => {
		// @ts-expect-error a duration is a number of milliseconds
		definePolicy({ connectTimeoutMs: '15s' });
		// @ts-expect-error unknown option (the runtime suggests connectTimeoutMs)
		definePolicy({ connectTimeout: 15_000 });
		// @ts-expect-error perUser is an object or false
		definePolicy({ iceRestart: { perUser: true } });
		// @ts-expect-error onStoreError is 'deny' or 'allow'
		definePolicy({ onStoreError: 'ignore' });
		// @ts-expect-error userId must return a string or a number
		definePolicy({ userId: () => ({ id: 1 }) });
		// @ts-expect-error the same checks apply to options passed straight to watchTransport
		watchTransport(transport312, { disconnectGraceMs: null });
	});

	it('returns a policy whose fields are readonly', () => {
		const policy = definePolicy();
		expectTypeOf(policy.connectTimeoutMs).toEqualTypeOf<number>();
		// @ts-expect-error the policy is frozen and typed readonly
		policy.connectTimeoutMs = 1;
	});
});

describe('the handle', () => {
	it('types state, reasons, the closed promise and restartIce()', () => {
		const watch = watchTransport(transport312);
		expectTypeOf(watch.state).toEqualTypeOf<WatchState>();
		expectTypeOf(watch.closeReason).toEqualTypeOf<CloseReason | undefined>();
		expectTypeOf(watch.closed).toEqualTypeOf<Promise<CloseInfo>>();
		expectTypeOf(watch.restartIce()).toEqualTypeOf<Promise<IceParametersLike>>();
		expectTypeOf(watch.close).parameters.toEqualTypeOf<[detail?: string]>();
		expectTypeOf(watch[Symbol.dispose]).toBeFunction();
	});

	it('types each event payload and refuses unknown events', () => {
		const watch = watchTransport(transport327);
		watch.on('connect', (event) => expectTypeOf(event.timeToConnectMs).toEqualTypeOf<number>());
		watch.on('disconnect', (event) => expectTypeOf(event.graceMs).toEqualTypeOf<number>());
		watch.on('reconnect', (event) => expectTypeOf(event.afterRestart).toEqualTypeOf<boolean>());
		watch.on('close', (info) => {
			expectTypeOf(info.reason).toEqualTypeOf<CloseReason>();
			expectTypeOf(info.clean).toEqualTypeOf<boolean>();
			expectTypeOf(info.timeToConnectMs).toEqualTypeOf<number | null>();
		});
		watch.on('listenererror', (event) => expectTypeOf(event.error).toEqualTypeOf<unknown>());
		// @ts-expect-error no such event
		watch.on('closed', () => {});
		// @ts-expect-error the connect payload has no reason
		watch.on('connect', (event) => event.reason);
	});

	it('keeps the transport type through createWatchdog().watch()', () => {
		const watchdog = createWatchdog<PeerData>({ userId: (transport) => transport.appData.userId });
		const watch = watchdog.watch(transport327);
		expectTypeOf(watch.transport).toEqualTypeOf<ms327.WebRtcTransport<PeerData> | undefined>();
		// @ts-expect-error a PlainTransport is refused here too
		watchdog.watch(plain312);
	});

	it('types the observer events, a watch listener error included', () => {
		const watchdog = createWatchdog();
		watchdog.observer.on('watchlistenererror', (event) => {
			expectTypeOf(event.transportId).toEqualTypeOf<string>();
			expectTypeOf(event.userId).toEqualTypeOf<string | undefined>();
			expectTypeOf(event.event).toEqualTypeOf<keyof TransportWatchEvents>();
			expectTypeOf(event.error).toEqualTypeOf<unknown>();
		});
		watchdog.observer.on('close', (info) => expectTypeOf(info.reason).toEqualTypeOf<CloseReason>());
		// @ts-expect-error no such observer event
		watchdog.observer.on('watchclose', () => {});
	});
});
