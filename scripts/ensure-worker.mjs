#!/usr/bin/env node
// Makes sure a real mediasoup worker binary exists for the installed mediasoup version.
// First run: builds it from the npm tarball against Debian's libraries (~3 minutes on 2 cores);
// later runs: finds it in the cache and returns at once. Prints the binary's path.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { mediasoupVersion, projectRoot, workerBinaryExists, workerBinaryPath } from './worker-path.mjs';

const binary = workerBinaryPath();
if (workerBinaryExists()) {
	console.log(`mediasoup worker ${mediasoupVersion()}: ${binary} (cached)`);
	process.exit(0);
}
if (mediasoupVersion() !== '3.12.16') {
	console.error(`scripts/ensure-worker.mjs: only mediasoup 3.12.16 can be built here, found ${mediasoupVersion()}`);
	process.exit(1);
}
console.log(`mediasoup worker ${mediasoupVersion()} not cached: building it (about 3 minutes on 2 cores)…`);
const result = spawnSync('bash', [join(projectRoot, 'scripts/build-mediasoup-worker.sh'), binary], {
	stdio: 'inherit',
});
if (result.status !== 0) {
	console.error(`scripts/ensure-worker.mjs: building the mediasoup worker failed (exit ${result.status})`);
	process.exit(1);
}
console.log(`mediasoup worker ${mediasoupVersion()}: ${binary} (built)`);
