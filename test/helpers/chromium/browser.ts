// Launching Debian's Chromium through playwright-core, finding its processes, killing them and
// cleaning up its folders. One launch = one browser (a persistent context) with its own folder.
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';

export const CHROMIUM_PATH = '/usr/bin/chromium';

/** Exactly the flags of /work/shared/clients.md (fake devices, loopback candidates). */
export const CHROMIUM_ARGS: readonly string[] = [
	'--no-sandbox',
	'--disable-gpu',
	'--disable-quic',
	'--no-first-run',
	'--disable-background-networking',
	'--disable-component-update',
	'--disable-sync',
	'--use-fake-ui-for-media-stream',
	'--use-fake-device-for-media-stream',
	'--allow-loopback-in-peer-connection',
];

/** Throws a clear error when Debian's chromium is not installed (tests never skip). */
export function assertChromiumInstalled(): void {
	if (!existsSync(CHROMIUM_PATH)) {
		throw new Error(
			`Chromium not found at ${CHROMIUM_PATH}: install it with \`apt-get install -y chromium\` (the Chromium integration tests need a real browser and are never skipped)`,
		);
	}
}

export interface LaunchedChromium {
	readonly context: BrowserContext;
	/** The page the persistent context opened with. */
	readonly page: Page;
	/** Folder holding the profile, TMPDIR and XDG folders of this browser; removed by close(). */
	readonly root: string;
	/** pid of the main browser process. */
	readonly browserPid: number;
	/** pids of every live process of this browser (main, zygotes, renderers, utilities, crashpad). */
	processes(): number[];
	/** SIGKILL every process of this browser; resolves once all are gone. */
	kill(): Promise<void>;
	/** SIGKILL the main browser process only; resolves once it is gone. */
	killBrowserProcess(): Promise<void>;
	/** Closes the context, kills leftovers and removes `root`. Idempotent. */
	close(): Promise<void>;
}

export interface LaunchChromiumOptions {
	/**
	 * Bound for Chromium's start (playwright's launch timeout), in ms. Default 30 000: a launch
	 * takes ~0.4 s on an idle machine and 7–12 s when four start at once on 2 busy cores.
	 */
	timeoutMs?: number;
}

/** Launches Chromium in a fresh folder under the OS temp dir. */
export async function launchChromium(options: LaunchChromiumOptions = {}): Promise<LaunchedChromium> {
	assertChromiumInstalled();
	const root = await mkdtemp(join(tmpdir(), 'msw-chromium-'));
	const userDataDir = join(root, 'profile');
	const env: Record<string, string> = {};
	for (const [key, value] of Object.entries(process.env)) if (value !== undefined) env[key] = value;
	// TMPDIR for the browser's temp files; XDG_* keep the crashpad database and caches (which
	// Chromium otherwise puts under $HOME) inside `root`, which also lets processes() find them.
	for (const [key, folder] of [
		['TMPDIR', 'tmp'],
		['XDG_CONFIG_HOME', 'config'],
		['XDG_CACHE_HOME', 'cache'],
	] as const) {
		env[key] = join(root, folder);
		mkdirSync(env[key]);
	}

	let context: BrowserContext;
	try {
		context = await chromium.launchPersistentContext(userDataDir, {
			executablePath: CHROMIUM_PATH,
			headless: true,
			args: [...CHROMIUM_ARGS],
			env,
			timeout: options.timeoutMs ?? 30_000,
		});
	} catch (error) {
		signalAll(findProcesses(root), 'SIGKILL');
		await rm(root, { recursive: true, force: true });
		throw error;
	}

	let browserPid: number | undefined;
	try {
		browserPid = findBrowserPid(userDataDir);
	} catch (error) {
		await context.close().catch(() => {});
		signalAll(findProcesses(root), 'SIGKILL');
		await rm(root, { recursive: true, force: true });
		throw error;
	}
	const page = context.pages()[0] ?? (await context.newPage());
	let closing: Promise<void> | undefined;

	const launched: LaunchedChromium = {
		context,
		page,
		root,
		browserPid,
		processes: () => findProcesses(root, browserPid),
		async kill() {
			// Freeze first so that no process (e.g. the network service) can react to another's
			// death, such as by sending a WebSocket close frame; then kill them all.
			const pids = new Set<number>();
			for (let round = 0; round < 3; round++) {
				const fresh = launched.processes().filter((pid) => !pids.has(pid));
				if (fresh.length === 0) break;
				signalAll(fresh, 'SIGSTOP');
				for (const pid of fresh) pids.add(pid);
			}
			signalAll([...pids], 'SIGKILL');
			await waitGone([...pids], 5_000);
		},
		async killBrowserProcess() {
			signalAll([browserPid], 'SIGKILL');
			await waitGone([browserPid], 5_000);
		},
		close() {
			closing ??= (async () => {
				if (isAlive(browserPid)) {
					await withTimeout(context.close(), 10_000).catch(() => {});
				}
				await launched.kill();
				await rm(root, { recursive: true, force: true, maxRetries: 3 });
			})();
			return closing;
		},
	};
	return launched;
}

export function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
	let timer: NodeJS.Timeout | undefined;
	return Promise.race([
		promise,
		new Promise<never>((_, reject) => {
			timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
		}),
	]).finally(() => clearTimeout(timer));
}

interface ProcessInfo {
	pid: number;
	ppid: number;
	args: string[];
}

function listProcesses(): ProcessInfo[] {
	const list: ProcessInfo[] = [];
	for (const entry of readdirSync('/proc')) {
		if (!/^\d+$/.test(entry)) continue;
		try {
			const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
			const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
			if (fields[0] === 'Z' || fields[0] === 'X') continue;
			const args = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
			list.push({ pid: Number(entry), ppid: Number(fields[1]), args });
		} catch {
			// The process ended while we looked.
		}
	}
	return list;
}

function findBrowserPid(userDataDir: string): number {
	const flag = `--user-data-dir=${userDataDir}`;
	const main = listProcesses().filter((p) => p.args.includes(flag) && !p.args.some((a) => a.startsWith('--type=')));
	if (main.length !== 1 || !main[0]) {
		throw new Error(`expected one Chromium browser process for ${userDataDir}, found ${main.length}`);
	}
	return main[0].pid;
}

/** Processes naming `root` in their command line, plus every descendant of the browser. */
function findProcesses(root: string, browserPid?: number): number[] {
	const all = listProcesses();
	const found = new Set<number>();
	for (const p of all) if (p.args.some((a) => a.includes(`${root}/`))) found.add(p.pid);
	if (browserPid !== undefined && all.some((p) => p.pid === browserPid)) found.add(browserPid);
	let grew = true;
	while (grew) {
		grew = false;
		for (const p of all) {
			if (!found.has(p.pid) && found.has(p.ppid)) {
				found.add(p.pid);
				grew = true;
			}
		}
	}
	found.delete(process.pid);
	return [...found];
}

function signalAll(pids: number[], signal: NodeJS.Signals): void {
	for (const pid of pids) {
		try {
			process.kill(pid, signal);
		} catch {
			// Already gone.
		}
	}
}

/** Alive and not a zombie (a killed child of init may stay a zombie in a container). */
export function isAlive(pid: number): boolean {
	try {
		const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
		const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
		return state !== 'Z' && state !== 'X';
	} catch {
		return false;
	}
}

async function waitGone(pids: number[], timeoutMs: number): Promise<void> {
	const deadline = performance.now() + timeoutMs;
	for (;;) {
		const alive = pids.filter(isAlive);
		if (alive.length === 0) return;
		if (performance.now() > deadline) throw new Error(`Chromium processes ${alive.join(', ')} still alive after SIGKILL`);
		await new Promise((resolve) => setTimeout(resolve, 5));
	}
}
