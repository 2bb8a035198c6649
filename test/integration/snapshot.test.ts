// watchdog.snapshot() against the real worker and real werift clients: after a script of
// connects, restarts (granted, followed, refused), a connect timeout, a restart timeout and
// closes from outside the watchdog, the snapshot agrees count for count with what each watch
// reported on its own and with the script.
import { afterEach, describe, expect, it } from 'vitest';
import type {
	CloseInfo,
	IceParametersLike,
	IceRestartDenialReason,
	TransportWatch,
	Watchdog,
	WatchdogSnapshot,
} from '../../src/index.js';
import { createWatchdog, isIceRestartDeniedError } from '../../src/index.js';
import { createTestRouter, createTestTransport, type WebRtcTransport } from '../helpers/mediasoup.js';
import { useMediasoup } from '../helpers/mediasoup-fixture.js';
import { untilEvery } from '../helpers/until.js';
import { closeAllWeriftClients, spawnWeriftClient } from '../helpers/werift/harness.js';

const sfu = useMediasoup({ closeClients: [closeAllWeriftClients] });
let watchdog: Watchdog | undefined;

afterEach(() => {
	watchdog?.stop();
	watchdog = undefined;
});

/** What one watch told the app: its own events, and how each `restartIce()` call settled. */
interface Reported {
	readonly watch: TransportWatch<WebRtcTransport>;
	readonly connects: number[];
	readonly restarts: Array<{ outcome: 'granted' } | { outcome: 'denied'; reason: IceRestartDenialReason }>;
	close: CloseInfo | undefined;
}

function follow(watch: TransportWatch<WebRtcTransport>): Reported {
	const reported: Reported = { watch, connects: [], restarts: [], close: undefined };
	watch.on('connect', ({ timeToConnectMs }) => reported.connects.push(timeToConnectMs));
	watch.on('close', (info) => {
		reported.close = info;
	});
	return reported;
}

/** `restartIce()` through the app's eyes: the promise settles with parameters or a denial. */
async function restart(r: Reported): Promise<IceParametersLike> {
	try {
		const iceParameters = await r.watch.restartIce();
		r.restarts.push({ outcome: 'granted' });
		return iceParameters;
	} catch (error) {
		if (!isIceRestartDeniedError(error)) throw error;
		r.restarts.push({ outcome: 'denied', reason: error.reason });
		throw error;
	}
}

/** The snapshot's counts as the watches themselves tell them (liveness and percentiles aside). */
function tally(all: readonly Reported[]): Omit<WatchdogSnapshot, 'liveness' | 'timeToConnectMs' | 'detectionMs' | 'ports'> & {
	timeToConnect: { count: number; sum: number };
	detection: { count: number; sum: number };
} {
	const transports = { connecting: 0, connected: 0, disconnected: 0, restarting: 0 };
	const closes: Record<string, number> = {};
	const denied: Record<string, number> = {};
	let granted = 0;
	const users = new Set<string>();
	const ttc: number[] = [];
	const detection: number[] = [];
	for (const r of all) {
		const state = r.watch.state;
		if (state !== 'closed' && state !== 'stopped') {
			transports[state] += 1;
			if (r.watch.userId !== undefined) users.add(r.watch.userId);
		}
		if (r.close) closes[r.close.reason] = (closes[r.close.reason] ?? 0) + 1;
		if (r.close?.detectionMs !== null && r.close?.detectionMs !== undefined) detection.push(r.close.detectionMs);
		for (const event of r.restarts) {
			if (event.outcome === 'granted') granted += 1;
			else denied[event.reason] = (denied[event.reason] ?? 0) + 1;
		}
		ttc.push(...r.connects);
	}
	const total = (values: number[]) => ({ count: values.length, sum: values.reduce((s, v) => s + v, 0) });
	return {
		transports,
		closes,
		restarts: { granted, denied },
		users: users.size,
		timeToConnect: total(ttc),
		detection: total(detection),
	};
}

function expectSnapshotMatches(snap: WatchdogSnapshot, all: readonly Reported[]): void {
	const expected = tally(all);
	expect(snap.transports).toEqual(expected.transports);
	expect(snap.closes).toEqual(expected.closes);
	expect(snap.restarts).toEqual(expected.restarts);
	expect(snap.users).toBe(expected.users);
	expect(snap.timeToConnectMs.count).toBe(expected.timeToConnect.count);
	expect(snap.timeToConnectMs.sum).toBeCloseTo(expected.timeToConnect.sum, 6);
	expect(snap.detectionMs.count).toBe(expected.detection.count);
	expect(snap.detectionMs.sum).toBeCloseTo(expected.detection.sum, 6);
}

const until = untilEvery(10);

describe('watchdog.snapshot() with a real worker and real clients', () => {
	it('matches what happened, count for count', async () => {
		const { router } = sfu;
		const otherRouter = await createTestRouter(sfu.worker);
		watchdog = createWatchdog({
			connectTimeoutMs: 8_000,
			// liveness is not under test here: restart deadlines and closes are
			inactivityTimeoutMs: Number.POSITIVE_INFINITY,
			iceRestart: { perUser: { limit: 1, windowMs: 60_000 }, reconnectTimeoutMs: 1_500 },
		});
		const wd = watchdog;
		// Spawned before the watch: the spawn (tsx + werift, over 15 s on 2 busy cores) is the harness's cost, not the client's.
		const peers = await Promise.all([spawnWeriftClient(), spawnWeriftClient()]);
		const make = (userId: string, options: { sctp?: boolean; on?: typeof router } = {}) =>
			createTestTransport(options.on ?? router, { enableSctp: options.sctp ?? false, appData: { userId } });
		const [vanishing, restarting, silent, closedOutside, onClosedRouter, kicked] = await Promise.all([
			make('alice', { sctp: true }),
			make('bob', { sctp: true }),
			make('carol'),
			make('dave'),
			make('erin', { on: otherRouter }),
			make('gina'),
		]);
		const all = [vanishing, restarting, silent, closedOutside, onClosedRouter, kicked].map((t) => follow(wd.watch(t)));
		const [v, r, s, , , k] = all as [Reported, Reported, Reported, Reported, Reported, Reported];
		let snap = wd.snapshot();
		expect(snap.transports).toEqual({ connecting: 6, connected: 0, disconnected: 0, restarting: 0 });
		expect(snap.users).toBe(6);
		expectSnapshotMatches(snap, all);

		// Closes before any connect: from outside the watchdog, and by the app; then refused restarts.
		closedOutside.close();
		await otherRouter.close();
		k.watch.close('kicked');
		await expect(restart(s)).rejects.toMatchObject({ reason: 'never-connected' });
		await expect(restart(k)).rejects.toMatchObject({ reason: 'closed' });
		snap = wd.snapshot();
		expect(snap.closes).toEqual({ 'transport-closed': 1, 'router-closed': 1, app: 1 });
		expect(snap.restarts).toEqual({ granted: 0, denied: { 'never-connected': 1, closed: 1 } });
		expectSnapshotMatches(snap, all);

		// Two real clients connect.
		const [vanishingClient, restartingClient] = await Promise.all([
			peers[0].connect({ transport: vanishing, echo: false }),
			peers[1].connect({ transport: restarting, echo: false }),
		]);
		await Promise.all([vanishingClient.waitForConnected(), restartingClient.waitForConnected()]);
		await until(
			'both watches connected',
			() => (v.watch.state === 'connected' && r.watch.state === 'connected') || undefined,
			2_000,
		);
		snap = wd.snapshot();
		expect(snap.transports).toEqual({ connecting: 1, connected: 2, disconnected: 0, restarting: 0 });
		expect(snap.timeToConnectMs.count).toBe(2);
		expectSnapshotMatches(snap, all);

		// bob restarts ICE and his client follows; his second restart is over the limit.
		const iceParameters = await restart(r);
		expect(r.watch.state).toBe('restarting');
		await expect(restart(r)).rejects.toMatchObject({ reason: 'rate-limited' });
		expectSnapshotMatches(wd.snapshot(), all);
		expect(wd.snapshot().transports.restarting).toBe(1);
		await restartingClient.restartIce(iceParameters, { waitMs: 2_000 });

		// alice's client vanishes; her restart is granted but nothing answers it.
		vanishingClient.kill();
		await restart(v);
		await until('bob back to connected', () => r.watch.state === 'connected' || undefined, 5_000);
		await v.watch.closed;
		await s.watch.closed;

		snap = wd.snapshot();
		expectSnapshotMatches(snap, all);
		expect(snap.transports).toEqual({ connecting: 0, connected: 1, disconnected: 0, restarting: 0 });
		expect(snap.closes).toEqual({
			'transport-closed': 1,
			'router-closed': 1,
			app: 1,
			'restart-timeout': 1,
			'connect-timeout': 1,
		});
		expect(snap.restarts).toEqual({ granted: 2, denied: { 'never-connected': 1, closed: 1, 'rate-limited': 1 } });
		expect(snap.users).toBe(1);
		expect(snap.timeToConnectMs).toMatchObject({ count: 2, window: 2 });
		expect(snap.timeToConnectMs.min).toBe(Math.min(...v.connects, ...r.connects));
		expect(snap.timeToConnectMs.max).toBe(Math.max(...v.connects, ...r.connects));
		expect(snap.detectionMs).toMatchObject({ count: 1, window: 1, min: v.close?.detectionMs, max: v.close?.detectionMs });
		expect(restartingClient.exited).toBe(false);
		expect(restarting.dtlsState).toBe('connected');
	});
});
