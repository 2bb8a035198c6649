// What the signaling integration tests (test/integration/signaling-*.test.ts) share: the policy
// under which only signaling closes a transport, a user's watched transports, and clients run in
// child processes so that a test can kill or freeze them.
import { type ChildProcess, spawn } from 'node:child_process';
import type { CloseInfo, TransportWatch, Watchdog, WatchdogPolicyOptions } from '../../src/index.js';
import { createTestTransport, type Router, type WebRtcTransport } from './mediasoup.js';

/** Only signaling may close a transport here: these transports never connect. Grace 1 000 ms. */
export const SIGNALING_ONLY_POLICY: WatchdogPolicyOptions = {
	connectTimeoutMs: Number.POSITIVE_INFINITY,
	inactivityTimeoutMs: Number.POSITIVE_INFINITY,
	maxPendingPerUser: Number.POSITIVE_INFINITY,
	signalingGraceMs: 1_000,
};

export interface Watched {
	transport: WebRtcTransport;
	watch: TransportWatch;
	/** The watch's close, with when it came (`performance.now()`). */
	closed: Promise<CloseInfo & { at: number }>;
}

/** Two real transports of `userId`, watched. */
export async function transportsOf(watchdog: Watchdog, router: Router, userId: string): Promise<Watched[]> {
	const result: Watched[] = [];
	for (let i = 0; i < 2; i++) {
		const transport = await createTestTransport(router, { appData: { userId } });
		const watch = watchdog.watch(transport);
		result.push({ transport, watch, closed: watch.closed.then((info) => ({ ...info, at: performance.now() })) });
	}
	return result;
}

export interface ClientProcessOptions {
	/** What the client writes to stdout once it is ready. */
	ready: string;
	/** The client, for the error when it exits early ("ws client"). */
	what: string;
	/** The child's stderr: shown (default) or not. */
	stderr?: 'inherit' | 'ignore';
}

/** Clients in their own Node processes (ES module code run with `node -e`), killed with `killAll()`. */
export class ClientProcesses {
	readonly #children = new Set<ChildProcess>();

	/** Starts `code` in a child process; resolves once it has written `options.ready`. */
	async start(code: string, options: ClientProcessOptions): Promise<ChildProcess> {
		const child = spawn(process.execPath, ['--input-type=module', '-e', code], {
			cwd: process.cwd(),
			stdio: ['ignore', 'pipe', options.stderr ?? 'inherit'],
		});
		this.#children.add(child);
		await new Promise<void>((resolve, reject) => {
			child.stdout?.on('data', (data: Buffer) => {
				if (data.toString().includes(options.ready)) resolve();
			});
			child.once('exit', (exitCode) => reject(new Error(`${options.what} process exited early (${exitCode})`)));
		});
		return child;
	}

	/** Kills every client started so far, a frozen (SIGSTOPped) one too. */
	killAll(): void {
		for (const child of this.#children) {
			child.kill('SIGCONT');
			child.kill('SIGKILL');
		}
		this.#children.clear();
	}
}
