// Load on fake transports: 100 000 watch → close cycles and 100 000 watch → stop cycles (plus
// connected ones, which go through the liveness scheduler) on one watchdog with the real clock.
// Every watch ends with its one reason, `closed` settles for each, no listener is left on any
// transport, no timer is left in the process, the watchdog's per-user state is empty, and the
// heap returns to its baseline after a forced GC.
import { describe, expect, it } from 'vitest';
import { createWatchdog, type TransportWatch, type WatchableTransport } from '../../src/index.js';
import type { WatchdogImpl } from '../../src/watchdog.js';
import { FakeWebRtcTransport } from '../helpers/fake-transport.js';
import { activeTimeouts, flushJobs, heapAfterGc, listenerTotal } from '../helpers/leaks.js';

const CYCLES = 100_000;
const WARMUP = 5_000;
const BATCH = 1_000;
const USERS = 1_000;
/** Allowed heap growth over the whole run: under 10 bytes per cycle. */
const HEAP_SLACK_BYTES = 1_000_000;

type Ending = 'close' | 'stop' | 'connect-close';

interface RunResult {
	cycles: number;
	reasons: Record<string, number>;
	settled: number;
	leftListeners: number;
	transportsLeftOpen: number;
	ms: number;
}

function cycles(ending: Ending) {
	const watchdog = createWatchdog({ connectTimeoutMs: 15_000 });
	const internal = watchdog as unknown as WatchdogImpl<unknown>;

	async function run(count: number, offset: number): Promise<RunResult> {
		const result: RunResult = { cycles: 0, reasons: {}, settled: 0, leftListeners: 0, transportsLeftOpen: 0, ms: 0 };
		const startedAt = performance.now();
		for (let done = 0; done < count; done += BATCH) {
			for (let i = 0; i < BATCH; i++) {
				const n = offset + done + i;
				const transport = new FakeWebRtcTransport({ id: `t${n}`, appData: { userId: `user-${n % USERS}` } });
				const watch: TransportWatch<WatchableTransport> = watchdog.watch(transport);
				if (ending === 'connect-close') transport.connectClient();
				if (ending === 'stop') watch.stop();
				else watch.close('load');
				void watch.closed.then(() => {
					result.settled += 1;
				});
				const reason = watch.closeReason ?? 'none';
				result.reasons[reason] = (result.reasons[reason] ?? 0) + 1;
				result.leftListeners += listenerTotal(transport);
				if (!transport.closed) result.transportsLeftOpen += 1;
				result.cycles += 1;
			}
			await flushJobs(1);
		}
		result.ms = performance.now() - startedAt;
		return result;
	}

	return { watchdog, internal, run };
}

describe('the heap probe', () => {
	it('sees a leak as small as one retained empty object per cycle (the control for the tests below)', async () => {
		const { run } = cycles('close');
		await run(WARMUP, 0);
		const baseline = await heapAfterGc();
		const retained: object[] = [];
		for (let n = 0; n < CYCLES; n++) retained.push({});
		const result = await run(CYCLES, WARMUP);
		const growth = (await heapAfterGc()) - baseline;
		console.info(`control: ${CYCLES} cycles keeping one {} each: heap +${growth} B (${(growth / CYCLES).toFixed(1)} B/cycle)`);
		expect(result.settled).toBe(CYCLES);
		expect(retained).toHaveLength(CYCLES);
		expect(growth).toBeGreaterThan(HEAP_SLACK_BYTES);
	});
});

describe('100 000 cycles on fake transports', () => {
	for (const ending of ['close', 'stop', 'connect-close'] as const) {
		const count = ending === 'connect-close' ? CYCLES / 2 : CYCLES;
		it(`watch → ${ending.replace('-', ' → ')} ×${count}: one reason each, all settled, no listener or timer left, heap back to baseline`, async () => {
			const timersBefore = activeTimeouts();
			const { watchdog, internal, run } = cycles(ending);
			await run(WARMUP, 0);
			const baseline = await heapAfterGc();

			const result = await run(count, WARMUP);
			await flushJobs(2);
			const after = await heapAfterGc();
			const growth = after - baseline;
			console.info(
				`watch → ${ending}: ${count} cycles in ${result.ms.toFixed(0)} ms (${((result.ms * 1000) / count).toFixed(1)} µs each); heap ${(baseline / 1e6).toFixed(2)} → ${(after / 1e6).toFixed(2)} MB (${growth >= 0 ? '+' : ''}${growth} B, ${(growth / count).toFixed(2)} B/cycle)`,
			);

			const expectedReason = ending === 'stop' ? 'stopped' : 'app';
			expect(result.reasons).toEqual({ [expectedReason]: count });
			expect(result.settled).toBe(count);
			expect(result.leftListeners).toBe(0);
			expect(result.transportsLeftOpen).toBe(ending === 'stop' ? count : 0);
			const snapshot = watchdog.snapshot();
			expect(snapshot.transports).toEqual({ connecting: 0, connected: 0, disconnected: 0, restarting: 0 });
			expect(snapshot.users).toBe(0);
			expect(snapshot.liveness.tracked).toBe(0);
			expect(snapshot.closes).toEqual(ending === 'stop' ? {} : { app: count + WARMUP });
			expect(watchdog.watchesOf('user-1')).toEqual([]);
			// No pending slot or restart window left in the memory store.
			expect((internal.store as unknown as { size: number }).size).toBe(0);
			expect(activeTimeouts()).toBeLessThanOrEqual(timersBefore);
			expect(growth).toBeLessThan(HEAP_SLACK_BYTES);
			watchdog.stop();
		});
	}
});
