// The server half of a declared goodbye: closeUser(userId, { reason: 'client-left' }) closes the
// user's transports at once with a clean client-left; closeUser(userId, detail) keeps `app`.
import { describe, expect, it } from 'vitest';
import type { CloseInfo } from '../../src/index.js';
import { createWatchdog } from '../../src/watchdog.js';
import { createFakeTransport } from '../helpers/fake-transport.js';

describe("closeUser(userId, { reason: 'client-left' })", () => {
	it('closes every transport of the user, clean, at once; the string form stays app', () => {
		const watchdog = createWatchdog({});
		const { router, transport } = createFakeTransport();
		const second = router.createWebRtcTransport({ appData: { userId: 'alice' } });
		const other = router.createWebRtcTransport({ appData: { userId: 'bob' } });
		const closes: CloseInfo[] = [];
		for (const t of [transport, second, other]) watchdog.watch(t).on('close', (info) => closes.push(info));
		expect(watchdog.closeUser('alice', { reason: 'client-left', detail: 'pagehide' })).toBe(2);
		expect(closes.map((c) => [c.reason, c.clean, c.detail])).toEqual([
			['client-left', true, 'pagehide'],
			['client-left', true, 'pagehide'],
		]);
		expect(transport.closed && second.closed && !other.closed).toBe(true);
		expect(watchdog.closeUser('bob', 'kicked')).toBe(1);
		expect(closes[2]).toMatchObject({ reason: 'app', clean: true, detail: 'kicked' });
		expect(() => watchdog.closeUser('bob', { reason: 'inactive' as never })).toThrow(
			new TypeError("closeUser() reason must be 'app' or 'client-left', got inactive"),
		);
		watchdog.stop();
	});
});
