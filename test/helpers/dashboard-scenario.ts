// A watchdog under real load, scraped by a real Prometheus: what the dashboard test
// (test/integration/mediasoup-327-observability-dashboard.test.ts) checks and
// scripts/render-dashboard.ts draws. No vitest here, so the script can load it.
//
//   const scraped = await startScrapedWatchdog(DASHBOARD_POLICY);
//   const outcome = await runLoadRound({ router, worker, watchdog: scraped.watchdog, round: 0 });
//   const rows = await scraped.prometheus.query('mediasoup_watchdog_transports');
//   await scraped.close();
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { registerPrometheusMetrics } from '../../src/adapters/prometheus.js';
import {
	type CloseReason,
	createWatchdog,
	isIceRestartDeniedError,
	type TransportWatch,
	type Watchdog,
	type WatchdogPolicyOptions,
} from '../../src/index.js';
import { launchChromiumClient } from './chromium/harness.js';
import { createTestTransport, type Router, untilRtpReceived, type WebRtcTransport, type Worker } from './mediasoup.js';
import { type PrometheusServer, startPrometheusServer } from './prometheus-server.js';
import { startWeriftClient, type WeriftClient } from './werift/harness.js';

/**
 * Small values so one round takes seconds, not minutes; what they drive does not depend on them
 * (the defaults are 15 s, 8 s, 2 s, 20 s and 10 s). The connect deadline still leaves a Chromium
 * page on 2 busy cores time to connect. A media transport is judged at `inactivityTimeoutMs`
 * (docs/liveness.md), so the vanished Chromium page closes about 2–2.5 s after its last packet.
 */
export const DASHBOARD_POLICY = {
	connectTimeoutMs: 4_000,
	inactivityTimeoutMs: 2_000,
	liveness: { pollIntervalMs: 500 },
	iceRestart: { perUser: { limit: 1, windowMs: 60_000 }, reconnectTimeoutMs: 1_000 },
} as const satisfies WatchdogPolicyOptions;

/** The worker's `rtcMinPort`–`rtcMaxPort` of createTestWorker(): the port budget's range. */
export const TEST_PORT_RANGE = { min: 40_000, max: 49_999 } as const;

/** The Prometheus job name of the scraped /metrics endpoint. */
export const SCRAPE_JOB = 'sfu';

export interface ScrapedWatchdog {
	readonly watchdog: Watchdog;
	readonly prometheus: PrometheusServer;
	/** Stops Prometheus (and removes its folder), the /metrics server, the exporter and the watchdog. */
	close(): Promise<void>;
}

/**
 * A watchdog with `policy`, its metrics (mediasoup-watchdog/prometheus, default prefix) served on
 * 127.0.0.1 at /metrics, and a real Prometheus scraping them every second; resolves after the
 * first successful scrape.
 */
export async function startScrapedWatchdog(policy: WatchdogPolicyOptions): Promise<ScrapedWatchdog> {
	const watchdog = createWatchdog(policy);
	const registry = new Registry();
	const exporter = registerPrometheusMetrics(watchdog, { registry });
	const server = createServer((_req, res) => {
		registry.metrics().then(
			(text) => {
				res.writeHead(200, { 'content-type': registry.contentType });
				res.end(text);
			},
			(error: unknown) => {
				res.writeHead(500);
				res.end(String(error));
			},
		);
	});
	const stopLocal = async (): Promise<void> => {
		server.closeAllConnections();
		await new Promise<void>((resolve) => server.close(() => resolve()));
		exporter.unregister();
		watchdog.stop();
	};
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	const { port } = server.address() as AddressInfo;
	let prometheus: PrometheusServer;
	try {
		prometheus = await startPrometheusServer({ target: `127.0.0.1:${port}`, job: SCRAPE_JOB });
	} catch (error) {
		await stopLocal();
		throw error;
	}
	const close = async (): Promise<void> => {
		await prometheus.close();
		await stopLocal();
	};
	try {
		await prometheus.until(`up{job="${SCRAPE_JOB}"} == 1`, 10_000);
	} catch (error) {
		await close();
		throw error;
	}
	return { watchdog, prometheus, close };
}

/** What one round did, by user id (they end in `-<round>`). */
export interface RoundOutcome {
	/** The close reason of each user whose transport the round ended. */
	readonly closes: Readonly<Record<string, CloseReason>>;
	/** The denial reasons of the restarts the round asked for and was refused, in order. */
	readonly denials: readonly string[];
	/** Restarts granted. */
	readonly granted: number;
	/** Users left connected (closed with the clients, by the caller). */
	readonly connected: readonly string[];
	/** The werift peer left connected; `client.close()` ends it cleanly (`dtls-closed`). */
	readonly stay: { readonly watch: TransportWatch; readonly client: WeriftClient };
}

export interface LoadRoundOptions {
	readonly router: Router;
	readonly worker: Worker;
	readonly watchdog: Watchdog;
	/** Makes the user ids of this round unique (the per-user restart limit spans rounds). */
	readonly round: number;
	/** Called at each step (progress for a script). */
	readonly onStep?: (step: string) => void;
}

/**
 * One round of real load on `watchdog` (a policy like {@link DASHBOARD_POLICY}):
 * - `page-<round>`: a real Chromium page sending audio; SIGKILLed once connected → `inactive`;
 * - `drop-<round>`: a real werift peer (watched once connected, as the next), SIGKILLed once connected; one ICE restart granted, a
 *   second denied (`rate-limited`), then the restart deadline → `restart-timeout`;
 * - `stay-<round>`: a real werift peer that stays connected;
 * - `never-<round>`: a transport no client ever uses; a restart asked of it is denied
 *   (`never-connected`); → `connect-timeout`.
 * Resolves once all but `stay` are closed. The caller closes the clients (closeAll…Clients()).
 */
export async function runLoadRound({ router, worker, watchdog, round, onStep }: LoadRoundOptions): Promise<RoundOutcome> {
	const closes: Record<string, CloseReason> = {};
	const denials: string[] = [];
	const watch = (transport: Parameters<Watchdog['watch']>[0], userId: string): TransportWatch => {
		const w = watchdog.watch(transport, { worker, userId, ports: TEST_PORT_RANGE });
		void w.closed.then((info) => {
			if (info) closes[userId] = info.reason;
		});
		return w;
	};
	const deny = async (w: TransportWatch): Promise<void> => {
		try {
			await w.restartIce();
		} catch (error) {
			if (!isIceRestartDeniedError(error)) throw error;
			denials.push(error.reason);
			return;
		}
		throw new Error(`restartIce() was granted on ${w.transportId}, expected a denial`);
	};
	// Watched once connected: a werift child takes 1–10 s to start, longer than the connect
	// deadline here; the Chromium page is watched from its transport's creation (time to connect).
	const werift = async (userId: string) => {
		const transport = await createTestTransport(router, { enableSctp: true });
		const client = await startWeriftClient({ transport, echo: false });
		await client.waitForConnected();
		return { watch: watch(transport, userId), client };
	};

	const never = watch(await createTestTransport(router), `never-${round}`);
	await deny(never);
	let pageWatch: TransportWatch | undefined;
	const [page, drop, stay] = await Promise.all([
		launchChromiumClient(router, {
			transports: 'send',
			media: { audio: true, video: false },
			onTransport: (transport) => {
				pageWatch = watch(transport, `page-${round}`);
			},
		}),
		werift(`drop-${round}`),
		werift(`stay-${round}`),
	]);
	await page.waitForConnected();
	if (!pageWatch) throw new Error('the Chromium page made no transport');
	// A transport is judged as one with media once a liveness sample saw its RTP (docs/liveness.md);
	// killed before that (connected, but the audio not flowing yet on 2 busy cores), it would be one
	// without media, judged at 60 s. So: RTP at the worker, then two polls of the watchdog.
	await audioSampled(page.transport('send'));
	onStep?.('clients connected');

	await page.kill();
	drop.client.kill();
	await drop.watch.restartIce();
	await deny(drop.watch);
	onStep?.('page and peer vanished, restarts asked');
	await closedWithin([never, drop.watch, pageWatch], ROUND_CLOSE_TIMEOUT_MS, watchdog);
	return { closes, denials, granted: 1, connected: stay.watch.state === 'connected' ? [`stay-${round}`] : [], stay };
}

/** Resolves once `transport` received RTP and the watchdog polled it twice since; rejects after 20 s. */
async function audioSampled(transport: WebRtcTransport): Promise<void> {
	await untilRtpReceived(transport, 20_000, 100);
	await new Promise((resolve) => setTimeout(resolve, 2 * DASHBOARD_POLICY.liveness.pollIntervalMs + 100));
}

/** Bound for the round's closes after the last client vanished (the longest deadline is ~2.5 s). */
const ROUND_CLOSE_TIMEOUT_MS = 15_000;

/** Waits for every watch to close; throws with their states and the liveness snapshot if one is late. */
async function closedWithin(watches: readonly TransportWatch[], ms: number, watchdog: Watchdog): Promise<void> {
	let timer: NodeJS.Timeout | undefined;
	const late = new Promise<never>((_, reject) => {
		timer = setTimeout(() => {
			const states = watches.map((w) => `${w.userId}: ${w.state}${w.closeReason ? ` (${w.closeReason})` : ''}`);
			reject(
				new Error(
					`not all closed within ${ms} ms: ${states.join(', ')}; liveness ${JSON.stringify(watchdog.snapshot().liveness)}`,
				),
			);
		}, ms);
	});
	try {
		await Promise.race([Promise.all(watches.map((w) => w.closed)), late]);
	} finally {
		clearTimeout(timer);
	}
}
