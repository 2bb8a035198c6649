// Cheap events that move liveness polls forward (docs/liveness.md, "Hints"). A hint never closes
// anything: it only asks the scheduler to poll a transport out of turn; the judge decides.

/**
 * What made the scheduler poll a transport out of turn: a producer's score at 0, a sibling judged
 * gone, or the judge itself (`silence`: a poll found the transport silent, and its bound ends before
 * the round-robin comes back).
 */
export type HintSource = 'producer-score' | 'sibling' | 'silence';

interface EmitterLike {
	on(event: string, listener: (...args: never[]) => void): unknown;
	off(event: string, listener: (...args: never[]) => void): unknown;
}

interface ProducerLike {
	readonly closed?: boolean;
	readonly observer: EmitterLike;
}

/** A producer's `score` event: one entry per receive stream (`score` 0: the worker's RTP inactivity check fired). */
export function scoreIsZero(scores: unknown): boolean {
	if (!Array.isArray(scores)) return false;
	return scores.some((entry) => (entry as { score?: unknown } | null)?.score === 0);
}

/**
 * Listens to `transport.observer` 'newproducer' and each producer's observer 'score' (same events in
 * mediasoup 3.12 and 3.27) and calls `onZero` when a receive stream's score drops to 0. Returns the
 * function that removes every listener it added.
 */
export function watchProducerScores(transport: unknown, onZero: () => void): () => void {
	const observer = (transport as { observer?: EmitterLike } | null)?.observer;
	if (!observer || typeof observer.on !== 'function') return () => {};
	const producers = new Map<ProducerLike, { score: (s: unknown) => void; close: () => void }>();
	const release = (producer: ProducerLike): void => {
		const listeners = producers.get(producer);
		if (!listeners) return;
		producers.delete(producer);
		producer.observer.off('score', listeners.score as never);
		producer.observer.off('close', listeners.close);
	};
	const onNewProducer = (producer: ProducerLike): void => {
		if (!producer?.observer || producer.closed || producers.has(producer)) return;
		const listeners = {
			score: (scores: unknown) => {
				if (scoreIsZero(scores)) onZero();
			},
			close: () => release(producer),
		};
		producers.set(producer, listeners);
		producer.observer.on('score', listeners.score as never);
		producer.observer.on('close', listeners.close);
	};
	observer.on('newproducer', onNewProducer as never);
	return () => {
		observer.off('newproducer', onNewProducer as never);
		for (const producer of [...producers.keys()]) release(producer);
	};
}

/**
 * The worker a transport lives on, as a key: its channel to the worker process (the `channel`
 * property mediasoup 3.12 and 3.27 set on every transport, one per worker), else the `{ worker }`
 * the app gave, else undefined (one group for every such transport).
 */
export function workerKeyOf(transport: unknown, worker: object | undefined): object | undefined {
	const channel = (transport as { channel?: unknown } | null)?.channel;
	if (channel !== null && typeof channel === 'object') return channel;
	return worker;
}
