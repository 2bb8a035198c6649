// Imported first by every bench script: points mediasoup at the project's own worker build
// before mediasoup is loaded (the same binary the tests use).
// @ts-expect-error plain ESM helper shared with scripts/ (no types)
import { workerBinaryPath } from '../scripts/worker-path.mjs';

process.env.MEDIASOUP_WORKER_BIN ??= workerBinaryPath() as string;
