// Prints one plain closing line, `tests: N passed, N failed, N skipped`, after vitest's own
// summary, so CI can read the outcome without knowing vitest's format. Skipped tests are
// counted and shown, never folded into passes.
import type { Reporter, TestModule } from 'vitest/node';

export default class SummaryReporter implements Reporter {
	onTestRunEnd(testModules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<unknown>): void {
		let passed = 0;
		let failed = 0;
		let skipped = 0;
		for (const module of testModules) {
			for (const test of module.children.allTests()) {
				const state = test.result().state;
				if (state === 'passed') passed += 1;
				else if (state === 'failed') failed += 1;
				else skipped += 1;
			}
			if (module.state() === 'failed' && module.children.size === 0) failed += 1; // a file that failed to load
		}
		failed += unhandledErrors.length;
		process.stdout.write(`\ntests: ${passed} passed, ${failed} failed, ${skipped} skipped\n`);
	}
}
