import { describe, expect, it, vi } from 'vitest';
import { actionForClose, CLOSE_ACTIONS, declareDeparture } from '../../src/client/index.js';
import { CLEAN_REASONS, CLOSE_REASONS } from '../../src/reasons.js';

class FakeWindow {
	readonly listeners = new Map<string, Set<() => void>>();
	addEventListener(type: string, listener: () => void): void {
		if (!this.listeners.has(type)) this.listeners.set(type, new Set());
		this.listeners.get(type)?.add(listener);
	}
	removeEventListener(type: string, listener: () => void): void {
		this.listeners.get(type)?.delete(listener);
	}
	fire(type: string): void {
		for (const listener of [...(this.listeners.get(type) ?? [])]) listener();
	}
	get count(): number {
		return [...this.listeners.values()].reduce((n, set) => n + set.size, 0);
	}
}

describe('declareDeparture()', () => {
	it('on pagehide sends the goodbye first, then closes the open transports, once', () => {
		const target = new FakeWindow();
		const order: string[] = [];
		const transports = [
			{ closed: false, close: vi.fn(() => order.push('close a')) },
			{ closed: true, close: vi.fn(() => order.push('close b')) },
		];
		const stop = declareDeparture({ target, transports: () => transports, goodbye: () => order.push('goodbye') });
		expect(target.count).toBe(1);
		target.fire('pagehide');
		target.fire('pagehide');
		expect(order).toEqual(['goodbye', 'close a']);
		stop();
		expect(target.count).toBe(0);
	});

	it('beforeunload only when asked; a throwing goodbye still closes the transports', () => {
		const target = new FakeWindow();
		const transport = { close: vi.fn() };
		declareDeparture({
			target,
			beforeunload: true,
			transports: () => [transport],
			goodbye: () => {
				throw new Error('beacon refused');
			},
		});
		expect(() => target.fire('beforeunload')).toThrow('beacon refused');
		expect(transport.close).toHaveBeenCalledOnce();
		const quiet = new FakeWindow();
		declareDeparture({ target: quiet, goodbye: vi.fn() });
		expect([...quiet.listeners.keys()]).toEqual(['pagehide']);
	});
});

describe('actionForClose()', () => {
	it('knows every close reason of src/reasons.ts', () => {
		expect(Object.keys(CLOSE_ACTIONS).sort()).toEqual([...CLOSE_REASONS].sort());
		for (const reason of CLOSE_REASONS) {
			expect(actionForClose({ reason, clean: CLEAN_REASONS[reason] })).toBe(CLOSE_ACTIONS[reason]);
		}
		expect(actionForClose({ reason: 'client-left', clean: true })).toBe('give-up');
		expect(actionForClose({ reason: 'ice-disconnected', clean: false })).toBe('reconnect');
		expect(actionForClose({ reason: 'worker-died', clean: false })).toBe('rejoin');
	});

	it('an unknown reason: give-up when clean, rejoin otherwise (never a loop on an intended end)', () => {
		expect(actionForClose({ reason: 'some-future-reason', clean: true })).toBe('give-up');
		expect(actionForClose({ reason: 'some-future-reason', clean: false })).toBe('rejoin');
		expect(actionForClose({ reason: 'toString' })).toBe('rejoin');
	});
});
