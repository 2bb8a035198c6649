// The Redis store's takeover channel on a fake subscriber connection: one SUBSCRIBE shared by
// every watchdog of the channel, UNSUBSCRIBE and the listener gone when the last one leaves,
// messages of other channels and malformed ones ignored, a failed SUBSCRIBE reported.
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { RedisTakeover } from '../../src/adapters/redis-takeover.js';

class FakeSubscriber extends EventEmitter {
	subscribed: string[] = [];
	unsubscribed: string[] = [];
	failure: Error | undefined;
	async subscribe(channel: string): Promise<unknown> {
		if (this.failure) throw this.failure;
		this.subscribed.push(channel);
		return 1;
	}
	async unsubscribe(channel: string): Promise<unknown> {
		this.unsubscribed.push(channel);
		return 0;
	}
}

function setup() {
	const subscriber = new FakeSubscriber();
	const published: Array<{ userId: string; message: string }> = [];
	const channel = new RedisTakeover('mw:takeover', subscriber, async (userId, message) => {
		published.push({ userId, message });
	});
	return { subscriber, published, channel };
}

describe('RedisTakeover', () => {
	it('publishes { u, o } and hands each message of its channel to every listener', async () => {
		const { subscriber, published, channel } = setup();
		const heard: string[] = [];
		const offA = channel.subscribe(
			(u, o) => heard.push(`A ${u} ${o}`),
			() => {},
		);
		const offB = channel.subscribe(
			(u, o) => heard.push(`B ${u} ${o}`),
			() => {},
		);
		expect(subscriber.subscribed).toEqual(['mw:takeover']); // one SUBSCRIBE for both
		await channel.announce('alice', 'node-1');
		expect(published).toEqual([{ userId: 'alice', message: '{"u":"alice","o":"node-1"}' }]);
		subscriber.emit('message', 'mw:takeover', published[0]?.message);
		subscriber.emit('message', 'other:channel', published[0]?.message);
		subscriber.emit('message', 'mw:takeover', 'not json');
		subscriber.emit('message', 'mw:takeover', '{"u":1}');
		expect(heard).toEqual(['A alice node-1', 'B alice node-1']);
		offA();
		expect(subscriber.unsubscribed).toEqual([]);
		offB();
		offB(); // twice is harmless
		expect(subscriber.unsubscribed).toEqual(['mw:takeover']);
		expect(subscriber.listenerCount('message')).toBe(0);
	});

	it('reports a failed SUBSCRIBE to the listeners', async () => {
		const { subscriber, channel } = setup();
		subscriber.failure = new Error('NOPERM');
		const errors: unknown[] = [];
		const off = channel.subscribe(
			() => {},
			(error) => errors.push(error),
		);
		await new Promise((resolve) => setImmediate(resolve));
		expect(errors).toEqual([subscriber.failure]);
		off();
	});
});
