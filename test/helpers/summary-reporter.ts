// Prints, after vitest's own summary, one `failed: …` line per failed test (its project, file,
// name and the first line of its error) and one plain closing line,
// `tests: N passed, N failed, N skipped`, so CI can read the outcome, and which test failed, from
// the last lines of a long log without knowing vitest's format. Skipped tests are counted and
// shown, never folded into passes.
import type { Reporter, TestModule } from 'vitest/node';

/** The first line of a failure's message, trimmed to what one log line holds. */
function firstLine(message: string | undefined): string {
	const line = (message ?? 'no message').split('\n', 1)[0] as string;
	return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}

export default class SummaryReporter implements Reporter {
	onTestRunEnd(testModules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<unknown>): void {
		let passed = 0;
		let failed = 0;
		let skipped = 0;
		const failures: string[] = [];
		for (const module of testModules) {
			const where = `${module.project.name} ${module.relativeModuleId}`;
			for (const test of module.children.allTests()) {
				const result = test.result();
				if (result.state === 'passed') passed += 1;
				else if (result.state === 'failed') {
					failed += 1;
					failures.push(`${where} > ${test.fullName}: ${firstLine(result.errors?.[0]?.message)}`);
				} else skipped += 1;
			}
			if (module.state() === 'failed' && module.children.size === 0) {
				failed += 1; // a file that failed to load
				failures.push(`${where}: ${firstLine(module.errors()[0]?.message)}`);
			}
		}
		failed += unhandledErrors.length;
		for (const error of unhandledErrors) failures.push(`unhandled error: ${firstLine((error as Error | undefined)?.message)}`);
		const lines = failures.map((failure) => `failed: ${failure}\n`).join('');
		process.stdout.write(`\n${lines}tests: ${passed} passed, ${failed} failed, ${skipped} skipped\n`);
	}
}
