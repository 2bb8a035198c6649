// `npm run demo`: every scenario against a real mediasoup worker and real WebRTC clients.
//   npm run demo                          all scenarios, side by side
//   npm run demo -- --scenario NAME       one scenario (repeat the flag for more)
//   npm run demo -- --help                the list
//
// mediasoup reads MEDIASOUP_WORKER_BIN when it is imported, so this entry points it at the
// project's own worker build (scripts/ensure-worker.mjs) first and imports the rest afterwards.
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
// @ts-expect-error plain ESM helper shared with scripts/ (no types)
import { projectRoot, workerBinaryPath } from '../scripts/worker-path.mjs';
import { SCENARIOS, type ScenarioInfo, scenarioNamed } from './demo/catalog.js';

// Sized to the machine: each running Chromium encodes fake video, each starting client (and each
// ICE restart) needs the CPU within the policy's few seconds.
const CORES = availableParallelism();
const DEFAULT_BROWSERS = Math.max(1, Math.min(4, CORES));
const DEFAULT_STARTS = Math.max(1, Math.floor(CORES / 2));

const USAGE = `Usage: npm run demo -- [--scenario NAME]... [--out DIR] [--browsers N] [--starts N] [--plain]

Plays scenarios against a real mediasoup worker with real clients (headless Chromium with
mediasoup-client, werift), prints expected vs observed verdicts and writes an HTML timeline.
Exit code 0 only when every verdict is the expected one.

Options:
  --scenario NAME  run only this scenario (repeatable, or comma-separated)
  --out DIR        folder of timeline.html (default: demo-output/)
  --browsers N     Chromium clients running at once (default: ${DEFAULT_BROWSERS}, from ${CORES} cores)
  --starts N       clients starting (or restarting ICE) at once (default: ${DEFAULT_STARTS})
  --plain          plain progress lines even on a terminal
  --help           this text

Scenarios:
${SCENARIOS.map((s) => `  ${s.name.padEnd(24)} ${s.client.padEnd(9)} expect ${s.expected.padEnd(23)} ${s.summary}`).join('\n')}
`;

function fail(message: string): never {
	process.stderr.write(`${message}\n\n${USAGE}`);
	process.exit(2);
}

let values: { scenario?: string[]; out?: string; browsers?: string; starts?: string; plain?: boolean; help?: boolean };
try {
	({ values } = parseArgs({
		options: {
			scenario: { type: 'string', multiple: true },
			out: { type: 'string' },
			browsers: { type: 'string' },
			starts: { type: 'string' },
			plain: { type: 'boolean' },
			help: { type: 'boolean', short: 'h' },
		},
		strict: true,
		allowPositionals: false,
	}));
} catch (error) {
	fail(error instanceof Error ? error.message : String(error));
}

if (values.help) {
	process.stdout.write(USAGE);
} else {
	const names = (values.scenario ?? []).flatMap((value) => value.split(',')).filter((name) => name !== '');
	const chosen: ScenarioInfo[] = [];
	for (const name of names) {
		const scenario = scenarioNamed(name);
		if (!scenario) fail(`unknown scenario: ${name}`);
		if (!chosen.includes(scenario)) chosen.push(scenario);
	}
	const count = (flag: 'browsers' | 'starts', fallback: number): number => {
		const value = values[flag] === undefined ? fallback : Number(values[flag]);
		if (!Number.isInteger(value) || value < 1) fail(`--${flag} must be a positive integer, got ${values[flag]}`);
		return value;
	};
	const browsers = count('browsers', DEFAULT_BROWSERS);
	const starts = count('starts', DEFAULT_STARTS);

	process.env.MEDIASOUP_WORKER_BIN ??= workerBinaryPath() as string;
	const { main } = await import('./demo/main.js');
	process.exitCode = await main({
		scenarios: chosen.length > 0 ? chosen : [...SCENARIOS],
		outDir: values.out ?? `${projectRoot as string}/demo-output`,
		browsers,
		starts,
		plain: values.plain ?? false,
	});
}
