// Waiting in real time for something a test can only poll for (a state reached, a quiet period).

/** Resolves with the first value `probe` gives other than `undefined`; rejects after `timeoutMs` naming `what`. */
export type Until = <T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs?: number) => Promise<T>;

/** An `until()` that calls its probe every `everyMs` (and gives up after `defaultTimeoutMs` unless told). */
export function untilEvery(everyMs: number, defaultTimeoutMs = 10_000): Until {
	return async (what, probe, timeoutMs = defaultTimeoutMs) => {
		const deadline = performance.now() + timeoutMs;
		for (;;) {
			const value = await probe();
			if (value !== undefined) return value;
			if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
			await new Promise((resolve) => setTimeout(resolve, everyMs));
		}
	};
}
