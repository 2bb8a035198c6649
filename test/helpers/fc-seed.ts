// Seeds for property tests: every run is reproducible, and CI still explores.
//
// Without FC_SEED, each property runs the committed FIXED_SEEDS plus one random seed drawn when the
// test file loads; a line naming every seed is printed even when the property passes, so a CI log
// always says what ran. A failure's message starts with the command that replays it exactly.
//
// Environment knobs (read here, so no script or config needs to know them):
//   FC_SEED=<int>        run only this seed (every property in the files run), e.g. `FC_SEED=42 npm test`
//   FC_PATH=<path>       with FC_SEED: replay this one counterexample path; it belongs to one property,
//                        so pass `-t` as the printed command does
//   FC_RUNS=<int>        runs per seed instead of the test's numRuns (longer explorations)
//   FC_RANDOM_SEEDS=<n>  random seeds per property instead of 1 (a sweep: FC_RANDOM_SEEDS=200)
import fc from 'fast-check';
import { expect } from 'vitest';

/** Seeds every run checks. 138151641 is the seed that once found 5e-324 accepted by the model. */
export const FIXED_SEEDS: readonly number[] = [138_151_641, 20_261_204, 1_771_539_813];

function intFromEnv(name: string, min: number, max: number): number | undefined {
	const raw = process.env[name];
	if (raw === undefined || raw === '') return undefined;
	const value = Number(raw);
	if (!Number.isInteger(value) || value < min || value > max) {
		throw new RangeError(`${name} must be a whole number between ${min} and ${max}, got ${JSON.stringify(raw)}`);
	}
	return value;
}

/** fast-check takes any 32-bit seed, signed or not (its own default seeds can be negative). */
const envSeed = intFromEnv('FC_SEED', -(2 ** 31), 2 ** 32 - 1);
const envPath = process.env.FC_PATH || undefined;
const envRuns = intFromEnv('FC_RUNS', 1, 10_000_000);
const randomCount = intFromEnv('FC_RANDOM_SEEDS', 0, 100_000) ?? 1;
if (envPath !== undefined && envSeed === undefined) throw new TypeError('FC_PATH needs FC_SEED (the seed it was printed with)');

/** Drawn once per test file (one process), so `FC_SEED=<it>` replays every property of the file. */
const randomSeeds = Array.from({ length: randomCount }, () => Math.floor(Math.random() * 2 ** 31));

export interface PropertyRun {
	/** The seeds that ran, in order. */
	readonly seeds: readonly number[];
	/** Runs per seed (numRuns, or FC_RUNS). */
	readonly runsPerSeed: number;
	/** True when FC_PATH replays one counterexample (a single run: coverage counts mean nothing then). */
	readonly replaying: boolean;
}

type Params<Ts> = Omit<fc.Parameters<Ts>, 'seed' | 'path' | 'numRuns'> & { numRuns: number };

/**
 * `fc.assert` over the seeds this run uses (see the file comment). Throws on the first failing seed
 * with the exact replay command first, then fast-check's report (counterexample, seed, path).
 */
export async function checkProperty<Ts>(property: fc.IRawProperty<Ts>, params: Params<Ts>): Promise<PropertyRun> {
	const state = expect.getState();
	const file = relativePath(state.testPath ?? '<test file>');
	const name = state.currentTestName?.split(' > ').at(-1) ?? '';
	const runsPerSeed = envRuns ?? params.numRuns;
	const seeds = envSeed !== undefined ? [envSeed] : [...FIXED_SEEDS, ...randomSeeds];
	const failures: Array<{ replay: string; report: string; cause: unknown }> = [];
	for (const seed of seeds) {
		const path = envSeed !== undefined ? envPath : undefined;
		let details: fc.RunDetails<Ts>;
		try {
			details = await fc.check(property, { ...params, numRuns: runsPerSeed, seed, ...(path ? { path } : {}) });
		} catch (error) {
			if (path && String(error).includes('Unable to replay')) {
				throw new Error(
					`FC_PATH=${path} does not fit "${name}": a path replays only the property it was printed for; run the printed command, with its -t`,
					{ cause: error },
				);
			}
			throw error;
		}
		if (details.failed) {
			const replay = replayCommand(file, name, details.seed, details.counterexamplePath ?? undefined);
			console.error(`[fast-check] FAILED ${file} "${name}" seed ${details.seed}; replay: ${replay}`);
			failures.push({ replay, report: fc.defaultReportMessage(details) ?? '', cause: details.errorInstance });
		}
	}
	const [first] = failures;
	if (first) {
		// Every seed ran (a sweep shows all it found); the first failure's report in full.
		const others =
			failures.length > 1
				? `\n\nFailing too (${failures.length - 1} more seeds):\n  ${failures
						.slice(1)
						.map((f) => f.replay)
						.join('\n  ')}`
				: '';
		throw new Error(`Property failed; replay exactly with:\n  ${first.replay}\n\n${first.report}${others}`, {
			cause: first.cause,
		});
	}
	const fixed = envSeed !== undefined ? `seed ${envSeed} (FC_SEED)${envPath ? ` path ${envPath}` : ''}` : describeSeeds();
	console.log(`[fast-check] ${file} "${name}": passed ${fixed}, ${runsPerSeed} runs each`);
	return { seeds, runsPerSeed, replaying: envPath !== undefined };
}

function describeSeeds(): string {
	const random =
		randomSeeds.length === 0
			? ''
			: randomSeeds.length <= 3
				? ` + random ${randomSeeds.join(', ')}`
				: ` + ${randomSeeds.length} random seeds (${randomSeeds.slice(0, 3).join(', ')}, …)`;
	return `fixed seeds ${FIXED_SEEDS.join(', ')}${random}`;
}

function relativePath(path: string): string {
	const cwd = `${process.cwd()}/`;
	return path.startsWith(cwd) ? path.slice(cwd.length) : path;
}

/** A shell command that replays one failure: FC_RUNS kept (it bounds the run that failed), -t picks the test. */
function replayCommand(file: string, name: string, seed: number, path: string | undefined): string {
	const env = [`FC_SEED=${seed}`, ...(path ? [`FC_PATH=${path}`] : []), ...(envRuns ? [`FC_RUNS=${envRuns}`] : [])];
	// -t is a regular expression matched against the test's full name.
	const pattern = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
	return `${env.join(' ')} npx vitest run ${file} -t '${pattern.replace(/'/g, `'\\''`)}'`;
}
