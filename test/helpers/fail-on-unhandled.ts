// Any unhandled rejection or uncaught exception during a test file fails the run: the watchdog
// must never leak either into the application's process.
import { afterAll } from 'vitest';

const problems: unknown[] = [];
const onProblem = (error: unknown): void => {
	problems.push(error);
};
process.on('unhandledRejection', onProblem);
process.on('uncaughtException', onProblem);

afterAll(() => {
	process.off('unhandledRejection', onProblem);
	process.off('uncaughtException', onProblem);
	if (problems.length > 0) {
		throw new AggregateError(problems, `${problems.length} unhandled rejection(s) or uncaught exception(s) during this file`);
	}
});
