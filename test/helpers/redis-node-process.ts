// Child-process entry of one "SFU node" (see redis-node.ts): a real mediasoup worker and router,
// an ioredis client of its own, and a watchdog whose store is `createRedisStore()`. Transports it
// connects get a real werift peer (test/helpers/werift/), so ICE restarts are real: a granted
// restart is followed by the peer with the new ICE parameters.
// Run as `node --import tsx redis-node-process.ts '<config json>'` with an IPC channel.
import { Redis } from 'ioredis';
import type { types } from 'mediasoup';
import { createRedisStore } from '../../src/adapters/redis.js';
import { isIceRestartDeniedError } from '../../src/errors.js';
import type { TransportWatch, WatchdogStore } from '../../src/types.js';
import { createWatchdog } from '../../src/watchdog.js';
import { closeWorker, createTestRouter, createTestTransport, createTestWorker } from './mediasoup.js';
import type { ChildMessage, CloseRecord, NodeMethod, NodeRpc, ParentMessage, RestartRun, SfuNodeConfig } from './redis-node.js';
import { closeAllWeriftClients, startWeriftClient, type WeriftClient } from './werift/harness.js';

if (!process.send) {
	console.error('redis-node-process.ts must be started with an IPC channel (child_process.fork)');
	process.exit(2);
}

const problems: string[] = [];
const record = (error: unknown): void => {
	const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
	console.error(`[redis node] unhandled: ${text}`);
	problems.push(text);
};
process.on('unhandledRejection', record);
process.on('uncaughtException', record);
process.on('disconnect', () => process.exit(0));

const send = (message: ChildMessage): void => {
	if (process.connected) process.send?.(message);
};

const config = JSON.parse(process.argv[2] ?? '{}') as SfuNodeConfig;

// The application's own client, as a deployment would configure it: ioredis defaults.
const redis = new Redis({ host: '127.0.0.1', port: config.redisPort });
redis.on('error', (error: Error) => console.error(`[redis node ${config.name}] ioredis: ${error.message}`));

// The takeover channel's subscriber: the app's second connection, as docs/redis.md says.
const subscriber = config.policy.takeover ? redis.duplicate() : undefined;
subscriber?.on('error', (error: Error) => console.error(`[redis node ${config.name}] subscriber: ${error.message}`));

const store = createRedisStore({
	client: redis,
	...(subscriber ? { subscriber } : {}),
	...(config.keyPrefix === undefined ? {} : { keyPrefix: config.keyPrefix }),
	...(config.commandTimeoutMs === undefined ? {} : { commandTimeoutMs: config.commandTimeoutMs }),
});
// A tap on addPending, so `pending` can answer once the store has decided (the cap acts then).
const addPendingSettled = new Map<string, Promise<void>>();
const tappedStore: WatchdogStore = {
	consumeRestart: (userId, limit) => store.consumeRestart(userId, limit),
	addPending(userId, transportId, ttlMs) {
		const result = store.addPending(userId, transportId, ttlMs);
		addPendingSettled.set(
			transportId,
			result.then(
				() => undefined,
				() => undefined,
			),
		);
		return result;
	},
	removePending: (userId, transportId) => store.removePending(userId, transportId),
	countPending: (userId) => store.countPending(userId),
	admitClusterRestart: (token, limit, windowMs) => store.admitClusterRestart(token, limit, windowMs),
	releaseClusterRestart: (token) => store.releaseClusterRestart(token),
	checkPolicy: (policy) => store.checkPolicy(policy),
};

const watchdog = createWatchdog({
	connectTimeoutMs: config.policy.connectTimeoutMs,
	iceRestart: {
		perUser: config.policy.perUser,
		reconnectTimeoutMs: config.policy.reconnectTimeoutMs ?? 10_000,
		...(config.policy.storm ? { storm: config.policy.storm } : {}),
		...(config.policy.requireConnectedOnce === undefined ? {} : { requireConnectedOnce: config.policy.requireConnectedOnce }),
	},
	maxPendingPerUser: config.policy.maxPendingPerUser,
	store: tappedStore,
	...(config.policy.takeover && store.takeover ? { takeover: store.takeover } : {}),
	...(config.policy.onStoreError ? { onStoreError: config.policy.onStoreError } : {}),
});

const epochNow = (): number => performance.timeOrigin + performance.now();
const closes: CloseRecord[] = [];
watchdog.observer.on('close', (info) =>
	closes.push({ transportId: info.transportId, userId: info.userId, reason: info.reason, clean: info.clean, at: epochNow() }),
);
const sessions: AbortController[] = [];
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

async function restartUntilGranted(
	transportId: string,
	startAt: number,
	spreadMs: number,
	deadline: number,
): Promise<RestartRun> {
	const { watch } = entry(transportId);
	const run: RestartRun = { transportId, granted: null, denials: [] };
	await sleep(startAt + Math.random() * spreadMs - epochNow());
	while (epochNow() < deadline) {
		const start = epochNow();
		try {
			await watch.restartIce();
			run.granted = { start, end: epochNow() };
			return run;
		} catch (error) {
			if (!isIceRestartDeniedError(error)) throw error;
			run.denials.push({ reason: error.reason, retryAfterMs: error.retryAfterMs });
			if (error.retryAfterMs === null) return run;
			await sleep(error.retryAfterMs);
		}
	}
	return run;
}

let worker: types.Worker | undefined;
let router: types.Router | undefined;
const transports = new Map<string, { transport: types.WebRtcTransport; watch: TransportWatch; client?: WeriftClient }>();

function entry(transportId: string) {
	const found = transports.get(transportId);
	if (!found) throw new Error(`no transport ${transportId} on node ${config.name}`);
	return found;
}

async function newTransport(userId: string): Promise<{ transport: types.WebRtcTransport; watch: TransportWatch }> {
	if (!router) throw new Error('no router');
	const transport = await createTestTransport(router, { enableSctp: true, appData: { userId } });
	const watch = watchdog.watch(transport);
	return { transport, watch };
}

const handlers: { [M in NodeMethod]: (params: NodeRpc[M]['params']) => Promise<NodeRpc[M]['result']> } = {
	async connect({ userId }) {
		const { transport, watch } = await newTransport(userId);
		const connected = new Promise<number>((resolve) => watch.once('connect', (e) => resolve(e.timeToConnectMs)));
		const client = await startWeriftClient({ transport });
		transports.set(transport.id, { transport, watch, client });
		await client.waitForConnected();
		const timeToConnectMs = await connected;
		return { transportId: transport.id, timeToConnectMs };
	},

	async pending({ userId }) {
		const { transport, watch } = await newTransport(userId);
		transports.set(transport.id, { transport, watch });
		await addPendingSettled.get(transport.id);
		await new Promise((resolve) => setImmediate(resolve));
		return { transportId: transport.id, state: watch.state, closeReason: watch.closeReason ?? null };
	},

	async restart({ transportId }) {
		const { watch, client } = entry(transportId);
		const started = performance.now();
		try {
			const iceParameters = await watch.restartIce();
			const decisionMs = performance.now() - started;
			let reconnected = false;
			if (client) {
				// werift keeps its local port, so mediasoup reports nothing when the peer follows a restart
				// (see werift-client.test.ts): the proof is werift's ICE back to 'connected' with the new
				// credentials and data echoed through the worker afterwards (which also keeps the watch's
				// restart deadline from closing a live transport).
				const followed = await client.restartIce(iceParameters as types.IceParameters, { waitMs: 5_000 });
				reconnected =
					followed.iceStatesAfter.every((state) => state === 'connected') &&
					(await client.echo(`after restart ${Date.now()}`).then(
						() => true,
						() => false,
					));
			}
			return { outcome: 'granted', decisionMs, reconnected, watchState: watch.state };
		} catch (error) {
			const decisionMs = performance.now() - started;
			if (!isIceRestartDeniedError(error)) throw error;
			const cause = error.cause as { name?: string; failure?: string } | undefined;
			return {
				outcome: 'denied',
				decisionMs,
				reason: error.reason,
				retryAfterMs: error.retryAfterMs,
				causeName: cause?.name,
				causeFailure: cause?.failure,
			};
		}
	},

	async watch({ transportId }) {
		const { watch } = entry(transportId);
		return { state: watch.state, closeReason: watch.closeReason ?? null };
	},

	async close({ transportId }) {
		const found = entry(transportId);
		found.watch.close('test');
		await found.client?.close();
		transports.delete(transportId);
		return { state: found.watch.state, closeReason: found.watch.closeReason ?? null };
	},

	canCreate: ({ userId }) => watchdog.canCreate(userId),

	redisStatus: async () => redis.status,

	async bind({ userId }) {
		const session = new AbortController();
		sessions.push(session);
		const at = epochNow();
		watchdog.bindSession(userId, session.signal);
		return { at };
	},

	closes: async () => [...closes],

	async idle({ userIds }) {
		const created = await Promise.all(userIds.map((userId) => newTransport(userId)));
		for (const { transport, watch } of created) transports.set(transport.id, { transport, watch });
		return created.map(({ transport }) => transport.id);
	},

	restartUntilGranted: ({ transportIds, startAt, spreadMs, deadlineMs }) =>
		Promise.all(transportIds.map((id) => restartUntilGranted(id, startAt, spreadMs, startAt + deadlineMs))),

	problems: async () => [...problems],

	async shutdown() {
		for (const { watch } of transports.values()) watch.close('shutdown');
		await closeAllWeriftClients();
		transports.clear();
		watchdog.stop();
		if (worker) await closeWorker(worker);
		redis.disconnect();
		subscriber?.disconnect();
		return { problems: [...problems] };
	},
};

process.on('message', (raw) => {
	const message = raw as ParentMessage;
	if (message.kind !== 'call') return;
	const handler = handlers[message.method] as (params: unknown) => Promise<unknown>;
	handler(message.params).then(
		(result) => {
			send({ kind: 'result', id: message.id, result });
			if (message.method === 'shutdown') setImmediate(() => process.exit(0));
		},
		(error: unknown) =>
			send({ kind: 'error', id: message.id, message: error instanceof Error ? (error.stack ?? error.message) : String(error) }),
	);
});

try {
	worker = await createTestWorker();
	router = await createTestRouter(worker);
	// Ready once Redis is: the tests start on a connected cluster.
	if (redis.status !== 'ready') await new Promise((resolve) => redis.once('ready', resolve));
	send({ kind: 'ready' });
} catch (error) {
	send({ kind: 'fatal', message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
	process.exit(1);
}
