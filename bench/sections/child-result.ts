// Runs one benchmark scenario in its own child process (its own Node, its own mediasoup worker) and
// reads its one result line: every other stdout line is progress, logged as it comes.
import { spawn } from 'node:child_process';

export interface ChildRun {
	readonly command: string;
	readonly args: readonly string[];
	/** Added to this process' environment. */
	readonly env: Readonly<Record<string, string>>;
	/** The stdout line that starts with this carries the result as JSON. */
	readonly resultPrefix: string;
	/** Past this the child is hung: it is SIGKILLed and the promise rejects. */
	readonly limitMs: number;
	/** What the run is, in log lines and errors (e.g. "mediasoup 3.27.1's run"). */
	readonly name: string;
	readonly log: (line: string) => void;
}

/** Resolves with the child's result; rejects when it gave none (with the tail of its stderr). */
export function runChildForResult<Result>(run: ChildRun): Promise<Result> {
	return new Promise((resolve, reject) => {
		const child = spawn(run.command, run.args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...run.env } });
		let result: Result | undefined;
		let stderr = '';
		let buffered = '';
		const timer = setTimeout(() => {
			run.log(`  ${run.name}: no result after ${Math.round(run.limitMs / 60_000)} min, killing it (pid ${child.pid})`);
			child.kill('SIGKILL');
		}, run.limitMs);
		child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
			buffered += chunk;
			const lines = buffered.split('\n');
			buffered = lines.pop() ?? '';
			for (const line of lines) {
				if (line.startsWith(run.resultPrefix)) result = JSON.parse(line.slice(run.resultPrefix.length)) as Result;
				else if (line.trim()) run.log(line);
			}
		});
		child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
			stderr = (stderr + chunk).slice(-4_000);
		});
		child.on('close', (code, signal) => {
			clearTimeout(timer);
			if (result !== undefined) resolve(result);
			else reject(new Error(`${run.name} gave no result (exit ${code ?? signal}): ${stderr.trim()}`));
		});
	});
}
