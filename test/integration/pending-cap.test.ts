// The pending-transport cap against the real mediasoup 3.12.16 worker: a user creating
// transports in a loop (the port-exhaustion abuse) is held at `maxPendingPerUser`; the ones over
// the cap are closed in the worker, not just forgotten; `canCreate()` lets the app ask first; a
// real client connecting (werift) or the connect deadline gives a slot back; a transport watched
// again right after its watch was stopped keeps its slot.
import { describe, expect, it } from 'vitest';
import { type CloseInfo, MemoryStore, type TransportWatch, type Watchdog } from '../../src/index.js';
import { createWatchdog } from '../../src/watchdog.js';
import { createTestTransport, type WebRtcTransport } from '../helpers/mediasoup.js';
import { useMediasoup } from '../helpers/mediasoup-fixture.js';
import { closeAllWeriftClients, spawnWeriftClient } from '../helpers/werift/harness.js';

const sfu = useMediasoup({ closeClients: [closeAllWeriftClients] });

/** Transport ids the worker still holds for this router. */
async function workerTransportIds(): Promise<string[]> {
	const dump = (await sfu.router.dump()) as { transportIds: string[] };
	return dump.transportIds;
}

function watchdogWithCloses(connectTimeoutMs = 30_000): { watchdog: Watchdog; closes: CloseInfo[] } {
	const watchdog = createWatchdog({ inactivityTimeoutMs: Number.POSITIVE_INFINITY, connectTimeoutMs, maxPendingPerUser: 4 });
	const closes: CloseInfo[] = [];
	watchdog.observer.on('close', (info) => closes.push(info));
	return { watchdog, closes };
}

describe('a user creating transports in a loop', () => {
	it('is held at maxPendingPerUser: every transport over the cap is closed with `pending-limit`, in the worker too', async () => {
		const { watchdog, closes } = watchdogWithCloses();
		const created: Array<{ transport: WebRtcTransport; watch: TransportWatch<WebRtcTransport> }> = [];
		for (let i = 0; i < 50; i++) {
			const transport = await createTestTransport(sfu.router, { appData: { userId: 'mallory' } });
			created.push({ transport, watch: watchdog.watch(transport) });
		}
		await new Promise((resolve) => setTimeout(resolve, 50));
		const open = created.filter(({ transport }) => !transport.closed);
		expect(open.map(({ transport }) => transport.id)).toEqual(created.slice(0, 4).map(({ transport }) => transport.id));
		expect(open.every(({ watch }) => watch.state === 'connecting')).toBe(true);
		expect(closes).toHaveLength(46);
		expect(new Set(closes.map((c) => c.reason))).toEqual(new Set(['pending-limit']));
		expect(closes[0]?.detail).toBe(
			'user mallory already holds 4 never-connected transports (maxPendingPerUser: 4); ask watchdog.canCreate(userId) before creating one',
		);
		expect(closes.every((c) => c.closedByWatchdog && !c.clean)).toBe(true);
		// The worker freed them (ports and all): only the 4 pending ones are left.
		expect((await workerTransportIds()).sort()).toEqual(open.map(({ transport }) => transport.id).sort());
		expect(await watchdog.canCreate('mallory')).toBe(false);
		// Another user is not affected.
		expect(await watchdog.canCreate('alice')).toBe(true);
		const alices = await createTestTransport(sfu.router, { appData: { userId: 'alice' } });
		watchdog.watch(alices);
		await new Promise((resolve) => setTimeout(resolve, 20));
		expect(alices.closed).toBe(false);
		expect(watchdog.snapshot().transports.connecting).toBe(5);
	});

	it('creates only maxPendingPerUser transports when the app asks canCreate() first', async () => {
		const { watchdog, closes } = watchdogWithCloses();
		let created = 0;
		while (await watchdog.canCreate('mallory')) {
			if (created === 50) throw new Error('canCreate() never said no');
			watchdog.watch(await createTestTransport(sfu.router, { appData: { userId: 'mallory' } }));
			created += 1;
		}
		expect(created).toBe(4);
		expect(closes).toEqual([]);
		expect(await workerTransportIds()).toHaveLength(4);
	});
});

describe('a transport watched again', () => {
	it('keeps its slot when its watch is stopped and it is watched again at once, by the same watchdog or another on the same store', async () => {
		const store = new MemoryStore();
		const policy = { inactivityTimeoutMs: Number.POSITIVE_INFINITY, connectTimeoutMs: 30_000, maxPendingPerUser: 1, store };
		const nodeA = createWatchdog(policy);
		const nodeB = createWatchdog(policy);
		try {
			const transport = await createTestTransport(sfu.router, { appData: { userId: 'nina' } });
			nodeA.watch(transport).stop();
			nodeA.watch(transport).stop(); // the old watch's slot is given back while the new one takes it
			const again = nodeB.watch(transport);
			await new Promise((resolve) => setTimeout(resolve, 20));
			expect(await store.countPending('nina')).toBe(1);
			expect(await nodeA.canCreate('nina')).toBe(false);
			// So one more never-connected transport of hers is one too many.
			const oneMore = nodeA.watch(await createTestTransport(sfu.router, { appData: { userId: 'nina' } }));
			expect((await oneMore.closed).reason).toBe('pending-limit');
			expect(again.state).toBe('connecting');
			expect(transport.closed).toBe(false);
		} finally {
			nodeA.stop();
			nodeB.stop();
		}
	});
});

describe('giving a slot back', () => {
	it('happens when a real client connects one of the pending transports', async () => {
		const { watchdog } = watchdogWithCloses();
		// Spawned before the watch: the spawn (tsx + werift, over 15 s on 2 busy cores) is the harness's cost, not the client's.
		const peer = await spawnWeriftClient();
		const transports: WebRtcTransport[] = [];
		for (let i = 0; i < 4; i++) {
			const transport = await createTestTransport(sfu.router, { enableSctp: true, appData: { userId: 'wendy' } });
			watchdog.watch(transport);
			transports.push(transport);
		}
		expect(await watchdog.canCreate('wendy')).toBe(false);
		const [first] = transports;
		if (!first) throw new Error('unreachable');
		const client = await peer.connect({ transport: first });
		await client.waitForConnected();
		expect(watchdog.get(first.id)?.state).toBe('connected');
		expect(await watchdog.canCreate('wendy')).toBe(true);
		const fifth = await createTestTransport(sfu.router, { appData: { userId: 'wendy' } });
		const watch = watchdog.watch(fifth);
		await new Promise((resolve) => setTimeout(resolve, 20));
		expect(watch.state).toBe('connecting');
		expect(await watchdog.canCreate('wendy')).toBe(false);
	});

	it('happens at the connect deadline, when the never-connected transports are closed', async () => {
		const { watchdog, closes } = watchdogWithCloses(500);
		for (let i = 0; i < 4; i++) watchdog.watch(await createTestTransport(sfu.router, { appData: { userId: 'mallory' } }));
		expect(await watchdog.canCreate('mallory')).toBe(false);
		await new Promise((resolve) => setTimeout(resolve, 700));
		expect(closes.map((c) => c.reason)).toEqual(['connect-timeout', 'connect-timeout', 'connect-timeout', 'connect-timeout']);
		expect(await watchdog.canCreate('mallory')).toBe(true);
		expect(await workerTransportIds()).toEqual([]);
	});
});
