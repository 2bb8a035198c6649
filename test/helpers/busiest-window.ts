// The most events within any sliding window: how a request budget per second is checked, by the
// liveness tests and by the benchmark alike.

/** The most entries of `times` (ascending, ms) within any window of `windowMs`. */
export function busiestWindow(times: readonly number[], windowMs: number): number {
	let busiest = 0;
	for (let first = 0, last = 0; last < times.length; last += 1) {
		while ((times[last] as number) - (times[first] as number) >= windowMs) first += 1;
		busiest = Math.max(busiest, last - first + 1);
	}
	return busiest;
}
