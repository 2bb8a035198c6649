// One worker's part of the fidelity benchmark, in its own process (one mediasoup Node layer per
// process): bench/sections/fidelity.ts starts it with Node 20 for mediasoup 3.12.16 and with the
// pinned Node 22 and test/helpers/mediasoup-latest-hooks.mjs for 3.27.1 (`mediasoup` resolves to
// `mediasoup-latest`), MEDIASOUP_WORKER_BIN set to that version's build and FIDELITY_CONFIG (JSON,
// see FidelityConfig) in the environment. It prints progress lines and, last, one line
// `@@fidelity <WorkerRun JSON>`.
//
// Each round: every client starts its transports of every kind side by side (Chromium, GStreamer
// and werift against a worker on 127.0.0.1, Firefox against a second worker in a network namespace
// of its own), all watched by one watchdog with the default policy, plus (on a consent-checking
// worker) transports nobody watches. Once all have started they stay idle for `idleMs`, then every
// client is SIGKILLed (staggered over a poll period) and the run waits for each watch to close
// and each unwatched transport's ICE to turn 'disconnected'. A client that does not start or
// connect is recorded as such and the round goes on without it.
import { createWatchdog, DEFAULT_POLICY, type Watchdog } from '../../src/index.js';
import {
	closeWorker,
	createTestRouter,
	createTestWorker,
	hasWorkerConsent,
	mediasoupVersion,
	type WebRtcTransport,
	type Worker,
} from '../../test/helpers/mediasoup.js';
import { createTestNetns, type TestNetns } from '../../test/helpers/netns.js';
import {
	type ClientDriver,
	chromiumDriver,
	createSilentProducer,
	firefoxDriver,
	gstreamerDriver,
	type OpenedClient,
	type ServerSide,
	weriftDriver,
} from './clients.js';
import { type FidelityConfig, RESULT_PREFIX } from './config.js';
import { type ClientName, KINDS, type Kind, type TransportRecord, type WorkerRun } from './results.js';

const P = DEFAULT_POLICY.liveness.pollIntervalMs;
const label = `mediasoup ${mediasoupVersion}`;
const log = (line: string): void => {
	process.stdout.write(`  [${label}] ${line}\n`);
};
const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const message = (error: unknown): string => (error instanceof Error ? error.message : String(error));

interface Entry {
	readonly client: ClientName;
	readonly kind: Kind;
	readonly watched: boolean;
	failure?: string;
	opened?: OpenedClient;
	connectedAt?: number;
	closed?: { at: number; reason: string; detail: string | undefined };
	disconnectedAt?: number;
	vanishedAt?: number;
	/** The wait after the kills is over: later ends (the clean-up's own closes) are not recorded. */
	settled?: boolean;
}

interface Side extends ServerSide {
	readonly worker: Worker;
}

async function main(): Promise<void> {
	const config = JSON.parse(process.env.FIDELITY_CONFIG ?? '') as FidelityConfig;
	const notes: string[] = [];
	const watchdog = createWatchdog(); // the default policy
	const workers: Worker[] = [];
	let netns: TestNetns | undefined;
	const records: TransportRecord[] = [];
	try {
		const worker = await createTestWorker();
		workers.push(worker);
		const router = await createTestRouter(worker);
		const local: Side = { worker, router, silent: await createSilentProducer(router) };
		// Firefox never pairs with a 127.0.0.1 candidate: its worker runs in a network namespace.
		let firefoxSide: (Side & { readonly address: string }) | string;
		try {
			netns = await createTestNetns();
			const ns = netns;
			const nsWorker = await createTestWorker({}, { binary: (bin) => ns.workerBinary(bin) });
			workers.push(nsWorker);
			const nsRouter = await createTestRouter(nsWorker);
			firefoxSide = { worker: nsWorker, router: nsRouter, silent: await createSilentProducer(nsRouter), address: ns.address };
		} catch (error) {
			firefoxSide = `Firefox's server (network namespace and worker) did not start: ${message(error)}`;
			notes.push(firefoxSide);
			log(firefoxSide);
		}
		for (let round = 1; round <= config.rounds; round++) {
			const drivers: Array<{ driver: ClientDriver; side: Side }> = [
				{ driver: chromiumDriver(local), side: local },
				typeof firefoxSide === 'string'
					? { driver: failingDriver('Firefox ESR', firefoxSide), side: local }
					: { driver: firefoxDriver(firefoxSide, firefoxSide.address), side: firefoxSide },
				{ driver: gstreamerDriver(local), side: local },
				{ driver: weriftDriver(local), side: local },
			];
			records.push(...(await runRound(round, config, drivers, watchdog)));
		}
	} finally {
		watchdog.stop();
		for (const worker of workers)
			await closeWorker(worker).catch((error: unknown) => notes.push(`closing a worker: ${message(error)}`));
		await netns?.remove().catch((error: unknown) => notes.push(`removing the network namespace: ${message(error)}`));
	}
	const run: WorkerRun = { worker: label, node: process.version, consentCheck: hasWorkerConsent, records, notes };
	// Resolved once written: main()'s caller exits right after, which would cut a line that outgrew
	// the pipe's buffer short (scale-real's results did).
	await new Promise<void>((resolve) => process.stdout.write(`${RESULT_PREFIX}${JSON.stringify(run)}\n`, () => resolve()));
}

async function runRound(
	round: number,
	config: FidelityConfig,
	drivers: ReadonlyArray<{ driver: ClientDriver; side: Side }>,
	watchdog: Watchdog,
): Promise<TransportRecord[]> {
	const entries: Entry[] = [];
	const started = performance.now();
	await Promise.all(
		drivers.map(({ driver, side }) => {
			const plan: Entry[] = [];
			const watched = config.watchedPerKind[driver.client];
			const alone = hasWorkerConsent ? config.alonePerKind : 0;
			for (let i = 0; i < Math.max(watched, alone); i++) {
				for (const kind of driver.kinds) {
					if (i < watched) plan.push({ client: driver.client, kind, watched: true });
					if (i < alone) plan.push({ client: driver.client, kind, watched: false });
				}
			}
			entries.push(...plan);
			return inPool(plan, driver.startConcurrency, (entry) => start(entry, driver, side, watchdog, config.startTimeoutMs, round));
		}),
	);
	const live = entries.filter((e) => e.failure === undefined);
	log(
		`round ${round}: ${live.length} of ${entries.length} transports started in ${Math.round((performance.now() - started) / 1000)} s; idle for ${config.idleMs / 1000} s`,
	);
	await delay(config.idleMs);

	// The kills, staggered over a poll period (each client at a random phase of the polls).
	await Promise.all(
		live.map(async (entry) => {
			await delay(Math.random() * P);
			entry.vanishedAt = await (entry.opened as OpenedClient).vanish().catch((error: unknown) => {
				log(`round ${round}: killing a ${entry.client} client failed: ${message(error)}`);
				return performance.now();
			});
		}),
	);
	const deadline = performance.now() + config.waitAfterVanishMs;
	const ended = (e: Entry): boolean => (e.watched ? e.closed !== undefined : e.disconnectedAt !== undefined);
	while (performance.now() < deadline && !live.every(ended)) await delay(250);
	for (const entry of entries) entry.settled = true;
	log(
		`round ${round}: ${live.filter(ended).length} of ${live.length} ended ${Math.round((performance.now() - started) / 1000)} s after the round began`,
	);

	await Promise.all(
		drivers.map(({ driver }) => driver.close().catch((error: unknown) => log(`closing ${driver.client}: ${message(error)}`))),
	);
	for (const entry of live) if (!entry.opened?.transport.closed) entry.opened?.transport.close();
	return entries.map((entry) => toRecord(entry, round));
}

/** Starts one client; a failure (or a start longer than `timeoutMs`) is recorded on the entry. */
async function start(
	entry: Entry,
	driver: ClientDriver,
	side: Side,
	watchdog: Watchdog,
	timeoutMs: number,
	round: number,
): Promise<void> {
	const onTransport = (transport: WebRtcTransport): void => {
		if (entry.watched) {
			const watch = watchdog.watch(transport, { worker: side.worker, userId: `${entry.client} ${entry.kind} r${round}` });
			watch.on('close', (info) => {
				if (!entry.settled) entry.closed ??= { at: performance.now(), reason: info.reason, detail: info.detail };
			});
		} else {
			transport.on('icestatechange', (state) => {
				if (state === 'disconnected' && !entry.settled) entry.disconnectedAt ??= performance.now();
			});
		}
	};
	let timer: NodeJS.Timeout | undefined;
	try {
		entry.opened = await Promise.race([
			driver.open(entry.kind, entry.watched, onTransport),
			new Promise<never>((_, reject) => {
				timer = setTimeout(() => reject(new Error(`did not start and connect within ${timeoutMs / 1000} s`)), timeoutMs);
			}),
		]);
		entry.connectedAt = performance.now();
	} catch (error) {
		entry.failure = message(error);
		log(
			`round ${round}: ${entry.client} ${entry.kind}${entry.watched ? '' : ' (not watched)'} FAILED, left out: ${entry.failure.split('\n')[0]}`,
		);
	} finally {
		clearTimeout(timer);
	}
}

function toRecord(entry: Entry, round: number): TransportRecord {
	const base = { client: entry.client, kind: entry.kind, round, watched: entry.watched };
	if (entry.failure !== undefined || entry.connectedAt === undefined || entry.vanishedAt === undefined) {
		return { ...base, failure: entry.failure ?? 'not started' };
	}
	const connectedAt = entry.connectedAt;
	const vanishedAt = entry.vanishedAt;
	const endAt = entry.watched ? entry.closed?.at : entry.disconnectedAt;
	if (endAt !== undefined && endAt < vanishedAt) {
		const reason = entry.watched ? (entry.closed?.reason ?? '') : "ICE 'disconnected'";
		const detail = entry.watched ? entry.closed?.detail : undefined;
		return {
			...base,
			healthyMs: Math.round(endAt - connectedAt),
			earlyEnd: { reason, ...(detail ? { detail } : {}), afterMs: Math.round(endAt - connectedAt) },
		};
	}
	return {
		...base,
		healthyMs: Math.round(vanishedAt - connectedAt),
		afterVanishMs: endAt === undefined ? null : Math.round(endAt - vanishedAt),
		...(entry.watched && entry.closed ? { reason: entry.closed.reason } : {}),
	};
}

/** Runs `task` over `items`, at most `limit` at a time. */
async function inPool<T>(items: readonly T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
	let next = 0;
	await Promise.all(
		Array.from({ length: Math.min(limit, items.length) }, async () => {
			while (next < items.length) await task(items[next++] as T);
		}),
	);
}

/** A client whose server side could not be set up: every start fails with `why`. */
function failingDriver(client: ClientName, why: string): ClientDriver {
	return {
		client,
		kinds: KINDS,
		startConcurrency: 4,
		open: () => Promise.reject(new Error(why)),
		close: async () => undefined,
	};
}

process.on('unhandledRejection', (error) => log(`unhandled rejection (ignored): ${message(error)}`));
main().then(
	() => process.exit(0),
	(error: unknown) => {
		process.stderr.write(
			`fidelity run on ${label} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
		);
		process.exit(1);
	},
);
