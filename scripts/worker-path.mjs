// Where the project's own mediasoup worker build lives. Shared by scripts/ensure-worker.mjs,
// the test setup, the demo and the benchmarks, so they all run the same binary.
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const projectRoot = join(dirname(fileURLToPath(import.meta.url)), '..');

/** The mediasoup version installed as a devDependency (the worker must match it exactly). */
export function mediasoupVersion() {
	const pkg = JSON.parse(readFileSync(join(projectRoot, 'node_modules/mediasoup/package.json'), 'utf8'));
	return pkg.version;
}

/** Cache folder: $MEDIASOUP_WATCHDOG_CACHE, else $XDG_CACHE_HOME or ~/.cache. */
export function workerCacheDir() {
	if (process.env.MEDIASOUP_WATCHDOG_CACHE) return process.env.MEDIASOUP_WATCHDOG_CACHE;
	const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
	return join(base, 'mediasoup-watchdog');
}

/** Path of the cached worker binary for the installed mediasoup version. */
export function workerBinaryPath() {
	return join(workerCacheDir(), `mediasoup-worker-${mediasoupVersion()}-${process.arch}`);
}

export function workerBinaryExists() {
	return existsSync(workerBinaryPath());
}
