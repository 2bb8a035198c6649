// ICE restarts through the gate, against the real mediasoup 3.12.16 worker and a real Chromium
// running mediasoup-client: refused before the first DTLS connection; granted after it, with the
// page applying the new parameters through `transport.restartIce({ iceParameters })` and the watch
// seeing it come back; the user's second restart inside the window refused on their other
// transport; a live client that ignores a restart kept (mediasoup accepts the old credentials);
// a client gone before the restart closed with `restart-timeout`.
import { describe, expect, it, vi } from 'vitest';
import {
	type IceParametersLike,
	IceRestartDeniedError,
	isIceRestartDeniedError,
	type TransportWatch,
	type WatchdogPolicyOptions,
} from '../../src/index.js';
import { createWatchdog } from '../../src/watchdog.js';
import {
	type ChromiumClient,
	closeAllChromiumClients,
	type Direction,
	launchChromiumClient,
} from '../helpers/chromium/harness.js';
import type { WebRtcTransport } from '../helpers/mediasoup.js';
import { useMediasoup } from '../helpers/mediasoup-fixture.js';
import { untilEvery } from '../helpers/until.js';
import { type EventLog, recordEvents } from '../helpers/watch-events.js';

const sfu = useMediasoup({ closeClients: [closeAllChromiumClients] });

/** Only the restart rules may close a transport here (liveness has its own tests). */
const BASE: WatchdogPolicyOptions = { inactivityTimeoutMs: Number.POSITIVE_INFINITY, connectTimeoutMs: 30_000 };

type Watched = TransportWatch<WebRtcTransport>;

interface Launched {
	client: ChromiumClient;
	watches: Record<Direction, Watched>;
	events: Record<Direction, EventLog>;
	/** Spies on the real transports' `restartIce()` (they still call mediasoup). */
	spies: Record<Direction, { calls: number }>;
	/** Every selected tuple the server reported, per transport, with when. */
	tuples: Record<Direction, Array<{ remotePort: number; at: number }>>;
	/** waitForConnected(), the watches `connected`, then Chromium done switching candidate pairs. */
	connectedAndSettled(): Promise<void>;
}

/**
 * Chromium may switch to another candidate pair on its own within ~0.4 s of connecting (a new
 * selected tuple with no restart at all): the tests restart only once no switch came for 1 s.
 */
const SETTLE_MS = 1_000;

/** Launches Chromium for `userId`, watching each server transport before its parameters reach the page. */
async function launch(
	policy: WatchdogPolicyOptions,
	options: { userId?: string; transports?: 'send' | 'both'; connect?: boolean } = {},
): Promise<Launched> {
	const watchdog = createWatchdog({ ...BASE, ...policy });
	const watches = {} as Record<Direction, Watched>;
	const events = {} as Record<Direction, EventLog>;
	const spies = {} as Record<Direction, { calls: number }>;
	const tuples: Launched['tuples'] = { send: [], recv: [] };
	const client = await launchChromiumClient(sfu.router, {
		transports: options.transports ?? 'both',
		connect: options.connect ?? true,
		appData: { userId: options.userId ?? 'alice' },
		onTransport: (transport, direction) => {
			const spy = { calls: 0 };
			const real = transport.restartIce.bind(transport);
			vi.spyOn(transport, 'restartIce').mockImplementation(() => {
				spy.calls += 1;
				return real();
			});
			spies[direction] = spy;
			transport.observer.on('iceselectedtuplechange', (tuple) =>
				tuples[direction].push({ remotePort: tuple.remotePort ?? -1, at: performance.now() }),
			);
			watches[direction] = watchdog.watch(transport);
			events[direction] = recordEvents(watches[direction]);
		},
	});
	const connectedAndSettled = async (): Promise<void> => {
		await client.waitForConnected();
		const directions = client.transports.map((t) => (t === client.sendTransport ? 'send' : 'recv') as Direction);
		await until('every watch connected', () => (directions.every((d) => watches[d].state === 'connected') ? true : undefined));
		await until('Chromium done switching candidate pairs', () => {
			const last = Math.max(...directions.flatMap((d) => tuples[d].map((t) => t.at)));
			return performance.now() - last >= SETTLE_MS ? true : undefined;
		});
	};
	return { client, watches, events, spies, tuples, connectedAndSettled };
}

const until = untilEvery(20);

async function denial(promise: Promise<unknown>): Promise<IceRestartDeniedError> {
	const error = await promise.then(
		() => {
			throw new Error('expected restartIce() to be denied, but it was granted');
		},
		(e: unknown) => e,
	);
	if (!isIceRestartDeniedError(error)) throw error;
	return error;
}

const bytesReceived = async (transport: WebRtcTransport): Promise<number> => (await transport.getStats())[0]?.bytesReceived ?? 0;

describe('before the first DTLS connection', () => {
	it('denies a restart with `never-connected` and never asks mediasoup', async () => {
		const { client, watches, events, spies } = await launch({}, { transports: 'send', connect: false });
		const transport = client.transport('send');
		const before = transport.iceParameters;
		const error = await denial(watches.send.restartIce());
		expect(error).toBeInstanceOf(IceRestartDeniedError);
		expect(error).toMatchObject({ reason: 'never-connected', retryAfterMs: null, transportId: transport.id, userId: 'alice' });
		expect(spies.send.calls).toBe(0);
		expect(transport.iceParameters).toEqual(before);
		expect(watches.send.state).toBe('connecting');
		expect(events.send.of('icerestart')).toEqual([{ outcome: 'denied', reason: 'never-connected', retryAfterMs: null }]);
	});
});

describe('after connecting', () => {
	it('grants a restart that Chromium follows with the new parameters, then refuses the user’s next one on their other transport', async () => {
		const { client, watches, events, spies, tuples, connectedAndSettled } = await launch({
			iceRestart: { perUser: { limit: 1, windowMs: 20_000 } },
		});
		await connectedAndSettled();
		const send = client.transport('send');
		const oldParameters = send.iceParameters;
		const oldTuple = send.iceSelectedTuple;

		const requestedAt = performance.now();
		const iceParameters: IceParametersLike = await watches.send.restartIce();
		const grantedAt = performance.now();
		expect(spies.send.calls).toBe(1);
		expect(iceParameters.usernameFragment).not.toBe(oldParameters.usernameFragment);
		expect(iceParameters.password).not.toBe(oldParameters.password);
		expect(send.iceParameters).toEqual(iceParameters);
		expect(watches.send.state).toBe('restarting');
		expect(events.send.of('icerestart')).toEqual([{ outcome: 'granted', iceParameters }]);

		// Signaling: the parameters go to the page, which applies them with mediasoup-client.
		const reconnected = new Promise((resolve) => watches.send.once('reconnect', resolve));
		await client.restartIce('send', iceParameters);
		await reconnected;
		const [reconnect] = events.send.of('reconnect');
		expect(reconnect?.afterRestart).toBe(true);
		expect(reconnect?.afterMs).toBeGreaterThan(0);
		expect(reconnect?.afterMs).toBeLessThan(5_000);
		expect(watches.send.state).toBe('connected');
		expect(events.send.transitions()).toEqual(['connecting→connected', 'connected→restarting', 'restarting→connected']);
		// Chromium came back from new local ports (never seen before the restart), and media keeps
		// flowing on the new credentials.
		const before = tuples.send.filter((t) => t.at < grantedAt).map((t) => t.remotePort);
		expect(before).toContain(oldTuple?.remotePort);
		expect(before).not.toContain(send.iceSelectedTuple?.remotePort);
		expect(send.dtlsState).toBe('connected');
		const bytes = await bytesReceived(send);
		await new Promise((resolve) => setTimeout(resolve, 1_000));
		expect(await bytesReceived(send)).toBeGreaterThan(bytes);
		const states = await client.connectionStates();
		expect(states.send.at(-1)?.state).toBe('connected');

		// The same user, inside the window, on their other transport: rate-limited.
		const deniedFrom = performance.now();
		const error = await denial(watches.recv.restartIce());
		const deniedTo = performance.now();
		expect(error.reason).toBe('rate-limited');
		// The window opened between requestedAt and grantedAt; the denial came between deniedFrom and deniedTo.
		expect(error.retryAfterMs).toBeGreaterThanOrEqual(Math.floor(requestedAt + 20_000 - deniedTo));
		expect(error.retryAfterMs).toBeLessThanOrEqual(Math.ceil(grantedAt + 20_000 - deniedFrom));
		expect(error.retryAfterMs).toBeLessThan(20_000);
		expect(spies.recv.calls).toBe(0);
		expect(watches.recv.state).toBe('connected');
		expect(events.recv.of('icerestart')).toEqual([
			{ outcome: 'denied', reason: 'rate-limited', retryAfterMs: error.retryAfterMs },
		]);
	});

	it('lets exactly one of 1 000 concurrent restartIce() calls of one user, over both transports, reach mediasoup', async () => {
		const { client, watches, spies, connectedAndSettled } = await launch({
			iceRestart: { perUser: { limit: 1, windowMs: 20_000 } },
		});
		await connectedAndSettled();
		const outcomes = await Promise.all(
			Array.from({ length: 1_000 }, (_, i) =>
				(i % 2 === 0 ? watches.send : watches.recv).restartIce().then(
					(parameters) => ({ granted: parameters }),
					(error: unknown) => ({ denied: isIceRestartDeniedError(error) ? error.reason : String(error) }),
				),
			),
		);
		expect(spies.send.calls + spies.recv.calls).toBe(1);
		const granted = outcomes.flatMap((o) => ('granted' in o ? [o.granted] : []));
		expect(granted).toHaveLength(500); // the 500 calls on the winning watch share its restart
		expect(new Set(granted)).toHaveLength(1);
		expect(outcomes.filter((o) => 'denied' in o && o.denied === 'rate-limited')).toHaveLength(500);
		// The winner's client follows it and the watch comes back.
		const direction: Direction = spies.send.calls === 1 ? 'send' : 'recv';
		const [parameters] = granted;
		if (!parameters) throw new Error('unreachable');
		const reconnected = new Promise((resolve) => watches[direction].once('reconnect', resolve));
		await client.restartIce(direction, parameters);
		await reconnected;
		expect(watches[direction].state).toBe('connected');
	});
});

describe('a restart the client does not follow', () => {
	it('keeps a live client that ignores it: mediasoup still accepts its old credentials, so the watch goes back to `connected`', async () => {
		const { client, watches, events, connectedAndSettled } = await launch(
			{ iceRestart: { reconnectTimeoutMs: 2_000 } },
			{ transports: 'send' },
		);
		await connectedAndSettled();
		const send = client.transport('send');
		await watches.send.restartIce(); // granted, but the page is never told
		expect(watches.send.state).toBe('restarting');
		await until('back to connected', () => (watches.send.state === 'connected' ? true : undefined), 5_000);
		expect(watches.send.closeReason).toBeUndefined();
		expect(send.closed).toBe(false);
		expect(send.dtlsState).toBe('connected');
		expect(events.send.of('reconnect')).toEqual([]); // nothing proves it used the new credentials
		expect(events.send.transitions()).toEqual(['connecting→connected', 'connected→restarting', 'restarting→connected']);
		const states = await client.connectionStates();
		expect(states.send.at(-1)?.state).toBe('connected');
	});

	it('closes with `restart-timeout` when the client vanished (page closed, nothing sent) before the restart was granted', async () => {
		const { client, watches, connectedAndSettled } = await launch(
			{ iceRestart: { reconnectTimeoutMs: 2_000 } },
			{ transports: 'send' },
		);
		await connectedAndSettled();
		const send = client.transport('send');
		await client.closePage(); // Chromium sends nothing; mediasoup 3.12 keeps ICE 'completed'
		await new Promise((resolve) => setTimeout(resolve, 300));
		const grantedAt = performance.now();
		await watches.send.restartIce();
		const info = await watches.send.closed;
		const tookMs = performance.now() - grantedAt;
		expect(info).toMatchObject({ reason: 'restart-timeout', clean: false, closedByWatchdog: true, connectedOnce: true });
		expect(info.detail).toMatch(
			/^ICE did not reconnect within 2000 ms of the granted restart \(iceState:(completed|connected), bytesReceived (\d+) → \2\)$/,
		);
		expect(info.detectionMs).toBeGreaterThanOrEqual(2_000);
		expect(tookMs).toBeGreaterThanOrEqual(2_000);
		expect(tookMs).toBeLessThan(3_000);
		expect(send.closed).toBe(true);
	});
});
