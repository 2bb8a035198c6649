// The two reasons that need a real client to happen, against the real mediasoup 3.12.16 worker and
// a real Chromium running mediasoup-client:
// - `ice-disconnected`: on 3.12 a UDP client that vanishes yields no ICE event (no consent
//   freshness), but over ICE-TCP the worker goes `'disconnected'` as soon as the client's TCP
//   connections close. The server transports here listen on TCP only.
// - `dtls-failed`: the server is given a wrong fingerprint (or role) for the page's DTLS.
// Plus the restart-aware disconnect handling: ICE `'disconnected'` during a granted restart does
// not close the transport, however short the grace. Some tests put a TCP proxy between Chromium
// and the worker (test/helpers/tcp-proxy.ts) to take its connections away on cue.
import type { types } from 'mediasoup';
import { describe, expect, it } from 'vitest';
import type { CloseInfo, TransportWatch, WatchdogPolicyOptions } from '../../src/index.js';
import { createWatchdog } from '../../src/watchdog.js';
import { type ChromiumClient, closeAllChromiumClients, launchChromiumClient } from '../helpers/chromium/harness.js';
import type { WebRtcTransport } from '../helpers/mediasoup.js';
import { useMediasoup } from '../helpers/mediasoup-fixture.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { untilEvery } from '../helpers/until.js';
import { type EventLog, recordEvents } from '../helpers/watch-events.js';
import { type CountingClock, countingClock, listenersOn } from '../helpers/watch-probes.js';

const proxies = new Set<TcpProxy>();
async function closeAllProxies(): Promise<void> {
	await Promise.all([...proxies].map((proxy) => proxy.close()));
	proxies.clear();
}

const sfu = useMediasoup({ closeClients: [closeAllChromiumClients, closeAllProxies] });

/** Only the rule under test may close a transport (liveness has its own tests). */
const BASE: WatchdogPolicyOptions = {
	connectTimeoutMs: 10_000,
	inactivityTimeoutMs: Number.POSITIVE_INFINITY,
	iceRestart: { perUser: false, reconnectTimeoutMs: 10_000 },
};

/** What the server transport notified, as the test saw it on `transport.observer`. */
interface ServerEvent {
	at: number;
	event: 'ice' | 'dtls' | 'tuple';
	value: string;
}

interface Watched {
	client: ChromiumClient;
	transport: WebRtcTransport;
	watch: TransportWatch<WebRtcTransport>;
	events: EventLog;
	clock: CountingClock;
	/** Every server event since the transport was created, oldest first. */
	server: ServerEvent[];
	/** When the watch emitted each of its events (performance.now()). */
	emittedAt: Partial<Record<'disconnect' | 'reconnect' | 'close', number>>;
	closing: Promise<{ at: number; info: CloseInfo }>;
	/** The proxy in front of the worker, when launched with `proxy: true`. */
	proxy: TcpProxy | undefined;
	/** Removes the test's own listeners from the transport (before counting the watch's). */
	stopProbes(): void;
}

/**
 * Launches Chromium with one send transport watched from creation on: over ICE-TCP (`tcpOnly`,
 * optionally through a proxy), or over UDP with `transformConnect` altering the page's DTLS
 * parameters before the server gets them.
 */
async function launchWatched(
	policy: WatchdogPolicyOptions,
	options: {
		tcpOnly?: boolean;
		proxy?: boolean;
		transformConnect?: (dtlsParameters: types.DtlsParameters) => types.DtlsParameters;
	} = {},
): Promise<Watched> {
	const clock = countingClock();
	const watchdog = createWatchdog({ ...BASE, ...policy }, { clock });
	let proxy: TcpProxy | undefined;
	const server: ServerEvent[] = [];
	const emittedAt: Watched['emittedAt'] = {};
	const made: { watched?: Omit<Watched, 'client' | 'proxy'> } = {};
	const proxyOf = (): TcpProxy => {
		if (!proxy) throw new Error('no proxy yet');
		return proxy;
	};
	const client = await launchChromiumClient(sfu.router, {
		transports: 'send',
		appData: { userId: 'alice' },
		tcpOnly: options.tcpOnly ?? false,
		// A failing handshake closes the transport under the page's produce(): the test produces itself.
		connect: options.transformConnect === undefined,
		...(options.proxy
			? { iceCandidates: (transport: WebRtcTransport) => transport.iceCandidates.map((c) => ({ ...c, port: proxyOf().port })) }
			: {}),
		onTransport: async (transport) => {
			if (options.proxy) {
				const port = transport.iceCandidates[0]?.port;
				if (port === undefined) throw new Error('the transport has no candidate');
				proxy = await startTcpProxy(port);
				proxies.add(proxy);
			}
			const onIce = (value: string): void => void server.push({ at: performance.now(), event: 'ice', value });
			const onDtls = (value: string): void => void server.push({ at: performance.now(), event: 'dtls', value });
			const onTuple = (tuple: types.TransportTuple): void =>
				void server.push({ at: performance.now(), event: 'tuple', value: `${tuple.protocol}:${tuple.remotePort}` });
			transport.observer.on('icestatechange', onIce);
			transport.observer.on('dtlsstatechange', onDtls);
			transport.observer.on('iceselectedtuplechange', onTuple);
			const { transformConnect } = options;
			if (transformConnect) {
				const connect = transport.connect.bind(transport);
				transport.connect = ({ dtlsParameters }: { dtlsParameters: types.DtlsParameters }) =>
					connect({ dtlsParameters: transformConnect(dtlsParameters) });
			}
			const watch = watchdog.watch(transport, { worker: sfu.worker });
			const events = recordEvents(watch);
			for (const name of ['disconnect', 'reconnect', 'close'] as const) {
				watch.on(name, () => {
					emittedAt[name] = performance.now();
				});
			}
			const closing = new Promise<{ at: number; info: CloseInfo }>((resolve) => {
				watch.on('close', (info) => resolve({ at: performance.now(), info }));
			});
			made.watched = {
				transport,
				watch,
				events,
				clock,
				server,
				emittedAt,
				closing,
				stopProbes: () => {
					transport.observer.off('icestatechange', onIce);
					transport.observer.off('dtlsstatechange', onDtls);
					transport.observer.off('iceselectedtuplechange', onTuple);
				},
			};
		},
	});
	if (!made.watched) throw new Error('onTransport was not called');
	return { client, ...made.watched, proxy };
}

const until = untilEvery(10);

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Server events from `since` on, as `ice:disconnected`, `tuple:tcp:51234`, … */
const serverSince = (w: Watched, since: number): string[] =>
	w.server.filter((e) => e.at >= since).map((e) => `${e.event}:${e.value}`);

const printable = (w: Watched, since = 0): string =>
	w.server
		.filter((e) => e.at >= since)
		.map((e) => `+${(e.at - since).toFixed(0)} ms ${e.event} ${e.value}`)
		.join(', ');

/** Connected, and no new selected tuple for 1 s (Chromium switches pairs on its own after connecting). */
async function connectedAndSettled(w: Watched): Promise<void> {
	await w.client.waitForConnected();
	await until('the watch connected', () => (w.watch.state === 'connected' ? true : undefined));
	await until('Chromium done switching candidate pairs', () => {
		const last = Math.max(0, ...w.server.filter((e) => e.event === 'tuple').map((e) => e.at));
		return performance.now() - last >= 1_000 ? true : undefined;
	});
}

function expectReleased(w: Watched): void {
	w.stopProbes();
	expect(w.transport.closed).toBe(true);
	expect(w.watch.state).toBe('closed');
	expect(w.watch.transport).toBeUndefined();
	expect(listenersOn(w.transport)).toEqual({});
	expect(w.clock.pending()).toBe(0);
}

describe('`ice-disconnected` over ICE-TCP', () => {
	const GRACE_MS = 1_500;

	it.each([
		['the page is closed (nothing sent, only its TCP connections close)', (client: ChromiumClient) => client.closePage()],
		['every browser process is killed', (client: ChromiumClient) => client.kill()],
	])('closes with `ice-disconnected`, unclean, the grace after ICE went disconnected, when %s', async (_, end) => {
		const w = await launchWatched({ disconnectGraceMs: GRACE_MS }, { tcpOnly: true });
		await w.client.waitForConnected();
		expect(w.transport.iceCandidates.map((c) => c.protocol)).toEqual(['tcp']);
		expect(w.transport.iceSelectedTuple?.protocol).toBe('tcp');
		expect(w.watch.state).toBe('connected');

		const goneAt = performance.now();
		await end(w.client);
		const { at: closedAt, info } = await w.closing;
		const iceDown = w.server.find((e) => e.event === 'ice' && e.value === 'disconnected');
		if (!iceDown) throw new Error('the server never saw ICE disconnected');
		console.info(
			`ICE-TCP departure: ICE disconnected ${(iceDown.at - goneAt).toFixed(0)} ms after the client went, ` +
				`closed ${(closedAt - iceDown.at).toFixed(0)} ms after that (grace ${GRACE_MS}); server: ${printable(w, goneAt)}`,
		);
		// The TCP close is seen at once (mediasoup removes the tuples; measured ~30 ms).
		expect(iceDown.at - goneAt).toBeLessThan(1_000);
		expect(w.events.of('disconnect')).toEqual([{ iceState: 'disconnected', graceMs: GRACE_MS }]);
		expect(w.emittedAt.disconnect).toBeGreaterThanOrEqual(iceDown.at);
		expect(w.emittedAt.disconnect).toBeLessThan(iceDown.at + 50);
		expect(closedAt - iceDown.at).toBeGreaterThanOrEqual(GRACE_MS - 1);
		expect(closedAt - iceDown.at).toBeLessThan(GRACE_MS + 300);
		expect(info).toMatchObject({ reason: 'ice-disconnected', clean: false, closedByWatchdog: true, connectedOnce: true });
		// Node fires a timer up to 1 ms early as performance.now() measures it.
		expect(info.detectionMs).toBeGreaterThanOrEqual(GRACE_MS - 1);
		expect(info.detectionMs).toBeLessThan(GRACE_MS + 300);
		expect(w.events.names().filter((name) => name !== 'statechange')).toEqual(['connect', 'disconnect', 'close']);
		expect(w.events.transitions()).toEqual(['connecting→connected', 'connected→disconnected', 'disconnected→closed']);
		expectReleased(w);
	});

	it('emits `disconnect` then `reconnect` (afterRestart: false) and stays open when the TCP connections drop and Chromium reconnects by itself within the grace', async () => {
		const w = await launchWatched({ disconnectGraceMs: 5_000 }, { tcpOnly: true, proxy: true });
		await connectedAndSettled(w);
		const proxy = w.proxy;
		if (!proxy) throw new Error('no proxy');
		const acceptedBefore = proxy.accepted;

		const cutAt = performance.now();
		expect(proxy.cut()).toBeGreaterThan(0);
		await until('the watch reconnected', () => w.events.of('reconnect')[0]);
		const down = w.server.find((e) => e.at >= cutAt && e.event === 'ice' && e.value === 'disconnected');
		const up = w.server.find((e) => e.at >= cutAt && e.event === 'ice' && e.value !== 'disconnected');
		if (!down || !up) throw new Error(`expected ICE down and up on the server: ${printable(w, cutAt)}`);
		console.info(
			`ICE-TCP blip without restart: server ${printable(w, cutAt)}; reconnect ${JSON.stringify(w.events.of('reconnect'))}`,
		);

		expect(w.events.of('disconnect')).toEqual([{ iceState: 'disconnected', graceMs: 5_000 }]);
		const [reconnect] = w.events.of('reconnect');
		expect(reconnect?.afterRestart).toBe(false);
		expect(reconnect?.afterMs).toBeGreaterThanOrEqual(up.at - down.at - 50);
		expect(reconnect?.afterMs).toBeLessThan(up.at - down.at + 50);
		expect(proxy.accepted).toBeGreaterThan(acceptedBefore); // a new TCP connection of Chromium's own
		expect(w.watch.state).toBe('connected');
		expect(w.events.transitions()).toEqual(['connecting→connected', 'connected→disconnected', 'disconnected→connected']);
		expect(w.clock.pending()).toBe(0); // the grace timer is gone
		expect(w.transport.closed).toBe(false);
		expect(w.transport.dtlsState).toBe('connected');
		expect(w.events.of('close')).toEqual([]);
	});
});

describe('restart-aware disconnect handling over ICE-TCP', () => {
	const GRACE_MS = 200;

	it('a granted restart that Chromium follows over TCP is one new selected tuple on the server, and a 200 ms grace never fires', async () => {
		const w = await launchWatched({ disconnectGraceMs: GRACE_MS }, { tcpOnly: true });
		await connectedAndSettled(w);
		const oldTuple = w.transport.iceSelectedTuple;

		const grantedAt = performance.now();
		const iceParameters = await w.watch.restartIce();
		expect(w.watch.state).toBe('restarting');
		await w.client.restartIce('send', iceParameters);
		await until('the watch reconnected', () => w.events.of('reconnect')[0]);
		await sleep(3 * GRACE_MS);
		console.info(`ICE-TCP restart followed by Chromium: server ${printable(w, grantedAt)}`);

		// No ICE or DTLS state change at all: Chromium opens a new TCP connection with the new
		// credentials and nominates it; its old connections stay open (no 'disconnected' here).
		const seen = serverSince(w, grantedAt);
		expect(seen.length).toBeGreaterThan(0);
		expect(seen.every((e) => e.startsWith('tuple:tcp:'))).toBe(true);
		expect(w.transport.iceSelectedTuple?.remotePort).not.toBe(oldTuple?.remotePort);
		expect(w.events.of('reconnect')[0]?.afterRestart).toBe(true);
		expect(w.events.of('disconnect')).toEqual([]);
		expect(w.events.transitions()).toEqual(['connecting→connected', 'connected→restarting', 'restarting→connected']);
		expect(w.watch.state).toBe('connected');
		expect(w.transport.closed).toBe(false);
		expect(w.transport.dtlsState).toBe('connected');
		expect(w.clock.pending()).toBe(0);
	});

	it('does not close a transport whose TCP connections are lost during a granted restart, though ICE stays disconnected for 3× the 200 ms grace; the page’s restartIce() brings it back', async () => {
		const w = await launchWatched({ disconnectGraceMs: GRACE_MS }, { tcpOnly: true, proxy: true });
		await connectedAndSettled(w);
		const proxy = w.proxy;
		if (!proxy) throw new Error('no proxy');
		await until('Chromium has two TCP connections', () => (proxy.open >= 2 ? true : undefined));
		const selected = w.transport.iceSelectedTuple?.remotePort;
		if (selected === undefined) throw new Error('no selected tuple');

		const grantedAt = performance.now();
		const iceParameters = await w.watch.restartIce();
		expect(w.watch.state).toBe('restarting');
		// The network goes: the selected connection closes first, then the other one; no new one gets through.
		proxy.block();
		expect(proxy.cut(selected)).toBe(1);
		expect(proxy.cut()).toBeGreaterThanOrEqual(1);
		await until('ICE disconnected on the server', () => (w.transport.iceState === 'disconnected' ? true : undefined));
		const downAt = performance.now();
		await sleep(3 * GRACE_MS);
		const duringRestart = serverSince(w, grantedAt);
		console.info(`ICE-TCP lost during a restart: server ${printable(w, grantedAt)}; watch ${w.events.transitions().join(', ')}`);

		// mediasoup fell back to the other (closing) tuple, then had none left.
		expect(duringRestart).toEqual([expect.stringMatching(/^tuple:tcp:\d+$/), 'ice:disconnected']);
		expect(w.transport.iceState).toBe('disconnected');
		expect(w.watch.state).toBe('restarting');
		expect(w.events.of('close')).toEqual([]);
		expect(w.events.of('disconnect')).toEqual([]);
		expect(proxy.refused).toBeGreaterThan(0); // Chromium tried to reconnect meanwhile

		proxy.unblock();
		const restartedAt = performance.now();
		await w.client.restartIce('send', iceParameters);
		await until('the watch connected again', () =>
			w.watch.state === 'connected' && w.transport.iceState !== 'disconnected' ? true : undefined,
		);
		await sleep(2 * GRACE_MS);
		console.info(
			`... after the page's restartIce(): server ${printable(w, restartedAt)}; reconnects ${JSON.stringify(w.events.of('reconnect'))}`,
		);

		// The fallback tuple was never taken for the client following the restart (ICE went down
		// within its 100 ms): one `reconnect`, the real return.
		const reconnects = w.events.of('reconnect');
		expect(reconnects).toHaveLength(1);
		expect(reconnects[0]?.afterRestart).toBe(true);
		expect(reconnects[0]?.afterMs).toBeGreaterThanOrEqual(downAt - grantedAt + 3 * GRACE_MS - 5);
		expect(w.events.transitions()).toEqual(['connecting→connected', 'connected→restarting', 'restarting→connected']);
		expect(w.watch.state).toBe('connected');
		expect(w.events.of('close')).toEqual([]);
		expect(w.transport.closed).toBe(false);
		expect(w.transport.dtlsState).toBe('connected');
		expect(w.clock.pending()).toBe(0);
	});
});

describe('`dtls-failed` with a real handshake', () => {
	const swapFirstByte = (value: string): string => (value.startsWith('00') ? `FF${value.slice(2)}` : `00${value.slice(2)}`);

	it.each([
		[
			'a wrong sha-256 fingerprint (checked after the handshake)',
			(dtls: types.DtlsParameters): types.DtlsParameters => ({
				...dtls,
				fingerprints: dtls.fingerprints.map((f) => ({ ...f, value: swapFirstByte(f.value) })),
			}),
		],
		[
			'the wrong DTLS role (both ends act as client)',
			(dtls: types.DtlsParameters): types.DtlsParameters => ({ ...dtls, role: dtls.role === 'client' ? 'server' : 'client' }),
		],
	])('closes with `dtls-failed`, unclean, at once when the server is given %s', async (_, transformConnect) => {
		const w = await launchWatched({}, { transformConnect });
		expect(w.watch.state).toBe('connecting');
		// produce() starts ICE and DTLS; it may fail, when the watch closed the server transport first.
		const produced = await w.client.page.evaluate(() =>
			window.__msHarness.produce({ audio: true, video: false }).then(
				() => 'produced',
				(error: Error) => `failed: ${error.message}`,
			),
		);
		const { at: closedAt, info } = await w.closing;
		const connecting = w.server.find((e) => e.event === 'dtls' && e.value === 'connecting');
		const failed = w.server.find((e) => e.event === 'dtls' && e.value === 'failed');
		if (!connecting || !failed) throw new Error(`expected DTLS connecting then failed: ${printable(w)}`);
		console.info(
			`DTLS failed ${(failed.at - connecting.at).toFixed(1)} ms after connecting, closed ${(closedAt - failed.at).toFixed(1)} ms later; page produce(): ${produced}; server: ${printable(w, connecting.at)}`,
		);
		expect(failed.at - connecting.at).toBeLessThan(1_000);
		expect(closedAt - failed.at).toBeLessThan(50);
		expect(info).toMatchObject({
			reason: 'dtls-failed',
			clean: false,
			closedByWatchdog: true,
			connectedOnce: false,
			timeToConnectMs: null,
			detectionMs: 0,
		});
		expect(w.events.names()).toEqual(['statechange', 'close']);
		expect(w.events.transitions()).toEqual(['connecting→closed']);
		expectReleased(w);
	});
});
