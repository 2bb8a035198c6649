// A real Chromium (mediasoup-client) closing its transports cleanly: the DTLS close_notify reaches
// the real mediasoup 3.12 worker, and the watch closes the server transport with `dtls-closed`
// (clean) within 100 ms, leaving no listener and no timer behind.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type CloseInfo, definePolicy, type TransportWatch, type Watchdog } from '../../src/index.js';
import { createWatchdog } from '../../src/watchdog.js';
import { closeAllChromiumClients, type Direction, launchChromiumClient } from '../helpers/chromium/harness.js';
import type { WebRtcTransport } from '../helpers/mediasoup.js';
import { useMediasoup } from '../helpers/mediasoup-fixture.js';
import { type CountingClock, countingClock, listenersOn } from '../helpers/watch-probes.js';

const sfu = useMediasoup({ closeClients: [closeAllChromiumClients] });
let clock: CountingClock;
let watchdog: Watchdog;

beforeEach(() => {
	clock = countingClock();
	watchdog = createWatchdog(definePolicy({ connectTimeoutMs: 10_000, inactivityTimeoutMs: Number.POSITIVE_INFINITY }), { clock });
});

/** Wall-clock milliseconds with a fraction; comparable between Node and the page (one machine). */
const epoch = (): number => performance.timeOrigin + performance.now();

afterEach(() => {
	watchdog.stop();
});

interface Watched {
	transport: WebRtcTransport;
	watch: TransportWatch<WebRtcTransport>;
	/** When the server saw dtlsstatechange 'closed' (epoch ms). */
	dtlsClosedAt: Promise<number>;
	closing: Promise<{ at: number; info: CloseInfo }>;
}

/** Launches Chromium with its server transports watched from creation on. */
async function launchWatched(options: Parameters<typeof launchChromiumClient>[1] = {}) {
	const watched = new Map<Direction, Watched>();
	const client = await launchChromiumClient(sfu.router, {
		appData: { userId: 'chromium' },
		...options,
		onTransport: (transport, direction) => {
			const watch = watchdog.watch(transport, { worker: sfu.worker });
			const closing = new Promise<{ at: number; info: CloseInfo }>((resolve) => {
				watch.on('close', (info) => resolve({ at: epoch(), info }));
			});
			// Our own probe on the transport itself (the watch listens on the observer).
			const dtlsClosedAt = new Promise<number>((resolve) => {
				const onState = (state: string): void => {
					if (state !== 'closed') return;
					transport.off('dtlsstatechange', onState);
					resolve(epoch());
				};
				transport.on('dtlsstatechange', onState);
			});
			watched.set(direction, { transport, watch, dtlsClosedAt, closing });
		},
	});
	await client.waitForConnected();
	const get = (direction: Direction): Watched => {
		const entry = watched.get(direction);
		if (!entry) throw new Error(`no ${direction} transport was watched`);
		return entry;
	};
	return { client, get };
}

describe("Chromium's clean close", () => {
	it('closes the server transport with `dtls-closed`, clean, within 100 ms of the server seeing DTLS closed, which follows the page closing its transport', async () => {
		const { client, get } = await launchWatched({ transports: 'send' });
		const { transport, watch, dtlsClosedAt, closing } = get('send');
		expect(watch.state).toBe('connected');

		// The page stamps the moment it calls mediasoup-client's transport.close() (the CDP round
		// trip of page.evaluate() is not part of what the server can be held to).
		const evaluateAt = epoch();
		const closedAt = await client.page.evaluate(() => {
			const at = performance.timeOrigin + performance.now();
			window.__msHarness.closeTransport('send');
			return at;
		});
		const { at, info } = await closing;
		const notifyAt = await dtlsClosedAt;
		console.info(
			`dtls-closed: ${(at - closedAt).toFixed(1)} ms after the page's transport.close() (${(at - evaluateAt).toFixed(1)} ms after page.evaluate() was called), ${(at - notifyAt).toFixed(2)} ms after the server's dtlsstatechange 'closed'`,
		);
		// The watchdog's part: from the worker's dtlsstatechange 'closed' to the watch's close.
		expect(at - notifyAt).toBeLessThan(100);
		// Chromium's and the worker's part: close_notify sent from the browser's network thread and
		// handled by the worker, 9-20 ms idle, but 98 ms once in a clean-clone run on an idle 2-core
		// machine (the former bound of 100 ms from the page's call measured that). One second is
		// what the Firefox clean-close test holds too: a clean close, not a liveness verdict (seconds).
		expect(at - closedAt).toBeLessThan(1_000);
		expect(info).toMatchObject({
			reason: 'dtls-closed',
			clean: true,
			closedByWatchdog: true,
			connectedOnce: true,
			userId: 'chromium',
			detectionMs: 0,
		});
		expect(info.timeToConnectMs).toBeGreaterThan(0);
		expect(transport.closed).toBe(true);
		expect(listenersOn(transport)).toEqual({});
		expect(clock.pending()).toBe(0);
		expect((await sfu.router.dump()).transportIds).not.toContain(transport.id);
	});

	it('closes both the send and the receive transport when the page closes both', async () => {
		const { client, get } = await launchWatched({ transports: 'both' });
		const send = get('send');
		const recv = get('recv');
		expect([send.watch.state, recv.watch.state]).toEqual(['connected', 'connected']);
		const closedAt = await client.page.evaluate(() => {
			const at = performance.timeOrigin + performance.now();
			window.__msHarness.closeTransport('send');
			window.__msHarness.closeTransport('recv');
			return at;
		});
		const [sendClose, recvClose] = await Promise.all([send.closing, recv.closing]);
		console.info(
			`both closed ${(sendClose.at - closedAt).toFixed(1)} / ${(recvClose.at - closedAt).toFixed(1)} ms after the page closed them`,
		);
		for (const [{ transport }, { at, info }] of [
			[send, sendClose],
			[recv, recvClose],
		] as const) {
			expect(info).toMatchObject({ reason: 'dtls-closed', clean: true });
			expect(at - closedAt).toBeLessThan(100);
			expect(transport.closed).toBe(true);
			expect(listenersOn(transport)).toEqual({});
		}
		expect(clock.pending()).toBe(0);
	});

	it('turns a page close into `dtls-closed` when the page closes its transports on pagehide', async () => {
		const { client, get } = await launchWatched({ transports: 'send', pagehideClose: true });
		const { transport, closing } = get('send');
		const closedAt = epoch();
		await client.closePage();
		const { at, info } = await closing;
		console.info(`page close with pagehide: dtls-closed ${(at - closedAt).toFixed(1)} ms after page.close()`);
		expect(info).toMatchObject({ reason: 'dtls-closed', clean: true });
		expect(at - closedAt).toBeLessThan(1_000);
		expect(listenersOn(transport)).toEqual({});
		expect(clock.pending()).toBe(0);
	});
});
