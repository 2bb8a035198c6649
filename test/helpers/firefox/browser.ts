// Launching Debian's Firefox ESR headless over WebDriver BiDi with puppeteer-core (never a browser
// download), finding its processes, killing them and removing its folder. One launch = one Firefox
// with a fresh profile; each client of it is a tab (harness.ts).
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer, { type Browser } from 'puppeteer-core';
import { isAlive, withTimeout } from '../chromium/browser.js';

export const FIREFOX_PATH = '/usr/bin/firefox-esr';

/** The prefs of /work/shared/clients.md: fake devices without a prompt, real host candidates. */
export const FIREFOX_PREFS: Readonly<Record<string, unknown>> = {
	'media.navigator.streams.fake': true,
	'media.navigator.permission.disabled': true,
	'media.peerconnection.ice.loopback': true,
	'media.peerconnection.ice.obfuscate_host_addresses': false,
	'media.peerconnection.ice.link_local': true,
	// Nothing but the test's own servers: no updates, telemetry or captive-portal probes.
	'app.update.enabled': false,
	'network.captive-portal-service.enabled': false,
	'network.connectivity-service.enabled': false,
	'datareporting.policy.dataSubmissionEnabled': false,
	'toolkit.telemetry.enabled': false,
	'browser.safebrowsing.malware.enabled': false,
	'browser.safebrowsing.phishing.enabled': false,
	// Tabs in the background keep their timers (the harness drives several tabs at once).
	'dom.min_background_timeout_value': 0,
	'dom.timeout.enable_budget_timer_throttling': false,
};

/**
 * Start-up bound: Firefox ESR starts in ~1.5–3 s on these 2 cores when idle (measured), up to
 * ~10 s beside a mediasoup build or another browser; 45 s is generous without hiding a hang.
 */
export const FIREFOX_LAUNCH_TIMEOUT_MS = 45_000;

/** The harness could not start Firefox (twice): the test is broken, not the watchdog's verdict. */
export class FirefoxHarnessError extends Error {
	override readonly name = 'FirefoxHarnessError';
}

/** Throws a clear error when Debian's firefox-esr is not installed (tests never skip). */
export function assertFirefoxInstalled(): void {
	if (!existsSync(FIREFOX_PATH)) {
		throw new FirefoxHarnessError(
			`Firefox ESR not found at ${FIREFOX_PATH}: install it with \`apt-get install -y firefox-esr\` (the Firefox tests need a real browser and are never skipped)`,
		);
	}
}

/** What kill() measured. */
export interface KilledFirefox {
	/** performance.now() once every process was frozen (SIGSTOP sent): the browser sent nothing later. */
	readonly frozenAt: number;
}

export interface LaunchedFirefox {
	readonly browser: Browser;
	/** Folder of the profile, TMPDIR and HOME of this Firefox; removed by close(). */
	readonly root: string;
	/** pid of the main Firefox process. */
	readonly pid: number;
	/** Milliseconds the launch took (the successful attempt). */
	readonly launchMs: number;
	/** How many launch attempts failed before this one (0 or 1). */
	readonly failedAttempts: number;
	/** pids of every live process of this Firefox (main and its descendants). */
	processes(): number[];
	/** SIGSTOP then SIGKILL every process of this Firefox; resolves once all are gone. */
	kill(): Promise<KilledFirefox>;
	/** Closes the browser (or kills it), kills leftovers and removes `root`. Idempotent. */
	close(): Promise<void>;
}

/**
 * Launches Firefox in a fresh folder; a failed launch is retried once, and a second failure throws
 * a FirefoxHarnessError carrying both causes.
 */
export async function launchFirefox(timeoutMs = FIREFOX_LAUNCH_TIMEOUT_MS): Promise<LaunchedFirefox> {
	assertFirefoxInstalled();
	const errors: unknown[] = [];
	for (let attempt = 0; attempt < 2; attempt++) {
		try {
			return await launchOnce(timeoutMs, attempt);
		} catch (error) {
			errors.push(error);
		}
	}
	throw new FirefoxHarnessError(
		`Firefox ESR did not start twice (bound ${timeoutMs} ms each): ${errors.map((e) => (e instanceof Error ? e.message : String(e))).join(' | ')}`,
		{ cause: new AggregateError(errors) },
	);
}

async function launchOnce(timeoutMs: number, failedAttempts: number): Promise<LaunchedFirefox> {
	const root = await mkdtemp(join(tmpdir(), 'msw-firefox-'));
	const env: Record<string, string> = {};
	for (const [key, value] of Object.entries(process.env)) if (value !== undefined) env[key] = value;
	// Firefox writes caches and crash data under HOME and TMPDIR: keep them inside `root`.
	for (const [key, folder] of [
		['HOME', 'home'],
		['TMPDIR', 'tmp'],
		['XDG_CACHE_HOME', 'cache'],
		['XDG_CONFIG_HOME', 'config'],
	] as const) {
		env[key] = join(root, folder);
		mkdirSync(env[key]);
	}
	env.MOZ_CRASHREPORTER_DISABLE = '1';
	const started = performance.now();
	let browser: Browser | undefined;
	let pid: number | undefined;
	try {
		browser = await puppeteer.launch({
			browser: 'firefox',
			executablePath: FIREFOX_PATH,
			headless: true,
			userDataDir: join(root, 'profile'),
			extraPrefsFirefox: { ...FIREFOX_PREFS },
			env,
			timeout: timeoutMs,
			handleSIGINT: false,
			handleSIGTERM: false,
			handleSIGHUP: false,
		});
		pid = browser.process()?.pid;
		if (pid === undefined) throw new Error('puppeteer started Firefox without a process');
	} catch (error) {
		await browser?.close().catch(() => {});
		const main = browser?.process()?.pid;
		await killAll(main === undefined ? findByRoot(root) : [...descendants(main), ...findByRoot(root)]);
		await rm(root, { recursive: true, force: true, maxRetries: 3 });
		throw error;
	}
	const launchMs = performance.now() - started;
	const mainPid = pid;
	const launchedBrowser = browser;
	let closing: Promise<void> | undefined;
	const processes = (): number[] => [...new Set([...descendants(mainPid), ...findByRoot(root)])];
	const launched: LaunchedFirefox = {
		browser: launchedBrowser,
		root,
		pid: mainPid,
		launchMs,
		failedAttempts,
		processes,
		kill: () => killAll(processes()),
		close() {
			closing ??= (async () => {
				if (isAlive(mainPid)) await withTimeout(launchedBrowser.close(), 10_000).catch(() => {});
				await killAll(processes());
				await rm(root, { recursive: true, force: true, maxRetries: 3 });
			})();
			return closing;
		},
	};
	return launched;
}

/** pid → [ppid, state, command line] of every process, read from /proc. */
function processTable(): Map<number, { ppid: number; state: string; cmdline: string }> {
	const table = new Map<number, { ppid: number; state: string; cmdline: string }>();
	for (const entry of readdirSync('/proc')) {
		if (!/^\d+$/.test(entry)) continue;
		try {
			const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
			const [state = '', ppid = '0'] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
			table.set(Number(entry), { ppid: Number(ppid), state, cmdline: readFileSync(`/proc/${entry}/cmdline`, 'utf8') });
		} catch {
			// Gone while reading.
		}
	}
	return table;
}

/** `pid` (if alive) and all its live descendants. */
function descendants(pid: number): number[] {
	const table = processTable();
	const found = new Set<number>();
	if (table.has(pid)) found.add(pid);
	for (let grew = true; grew; ) {
		grew = false;
		for (const [child, info] of table) {
			if (!found.has(child) && found.has(info.ppid) && info.state !== 'Z') {
				found.add(child);
				grew = true;
			}
		}
	}
	return [...found];
}

/** Live processes whose command line names `root` (a Firefox whose parent is gone). */
function findByRoot(root: string): number[] {
	const pids: number[] = [];
	for (const [pid, info] of processTable()) if (info.state !== 'Z' && info.cmdline.includes(`${root}/`)) pids.push(pid);
	return pids.filter((pid) => pid !== process.pid);
}

function signal(pids: number[], name: NodeJS.Signals): void {
	for (const pid of pids) {
		try {
			process.kill(pid, name);
		} catch {
			// Already gone.
		}
	}
}

/**
 * Freezes every process first (so none reacts to another's death, e.g. by closing a socket), then
 * SIGKILLs them; resolves once all are gone, throws after 5 s. Resolves to the performance.now()
 * at which the last of them was frozen: nothing the browser sends is later than that.
 */
async function killAll(initial: number[]): Promise<KilledFirefox> {
	const pids = new Set<number>(initial);
	signal([...pids], 'SIGSTOP');
	// Children forked meanwhile are frozen too.
	for (let round = 0; round < 3; round++) {
		const fresh = [...pids].flatMap(descendants).filter((pid) => !pids.has(pid));
		if (fresh.length === 0) break;
		signal(fresh, 'SIGSTOP');
		for (const pid of fresh) pids.add(pid);
	}
	const frozenAt = performance.now();
	signal([...pids], 'SIGKILL');
	const deadline = performance.now() + 5_000;
	for (;;) {
		const alive = [...pids].filter(isAlive);
		if (alive.length === 0) return { frozenAt };
		if (performance.now() > deadline) throw new Error(`Firefox processes ${alive.join(', ')} still alive 5 s after SIGKILL`);
		await new Promise((resolve) => setTimeout(resolve, 5));
	}
}
