// Faults the benchmark can inject into itself, to check that it reports and skips what fails
// instead of stopping (a quick run with them: `BENCH_QUICK=1 BENCH_FAULTS=unconnected:3,stats-reject:0.05
// npm run bench`). Off unless BENCH_FAULTS is set; a comma-separated list of:
//   unconnected:N     the STUN/DTLS clients leave N transports unconnected (never send to them)
//   close:N           N measured transports close in the middle of the first watchdog run (as when a
//                     client leaves, or the watchdog closes one, while it runs)
//   clients-exit      the clients' child process exits before it starts (a client that does not start)
//   stats-reject:P    a fraction P (0…1) of the worker getStats() calls of the cost phases reject
//   chromium:N        the first N detection trials fail as a Chromium that does not start would

export interface BenchFaults {
	readonly unconnected: number;
	readonly close: number;
	readonly clientsExit: boolean;
	readonly statsReject: number;
	readonly chromium: number;
}

export function benchFaults(spec = process.env.BENCH_FAULTS ?? ''): BenchFaults {
	const faults = { unconnected: 0, close: 0, clientsExit: false, statsReject: 0, chromium: 0 };
	for (const item of spec.split(',').filter(Boolean)) {
		const [name, raw = ''] = item.split(':');
		const value = Number(raw);
		const whole = Number.isInteger(value) && value >= 0;
		if (name === 'unconnected' && whole) faults.unconnected = value;
		else if (name === 'close' && whole) faults.close = value;
		else if (name === 'chromium' && whole) faults.chromium = value;
		else if (name === 'stats-reject' && raw !== '' && value >= 0 && value <= 1) faults.statsReject = value;
		else if (name === 'clients-exit' && raw === '') faults.clientsExit = true;
		else {
			throw new RangeError(
				`BENCH_FAULTS: cannot read ${JSON.stringify(item)} (expected unconnected:N, close:N, clients-exit, stats-reject:P, chromium:N)`,
			);
		}
	}
	return faults;
}

/** True when any fault is injected (the report says so). */
export function anyFault(faults: BenchFaults): boolean {
	return faults.unconnected > 0 || faults.close > 0 || faults.clientsExit || faults.statsReject > 0 || faults.chromium > 0;
}
