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

/** The two listeners added on one producer's observer. */
interface ProducerListeners {
	readonly score: (scores: unknown) => void;
	readonly close: () => void;
}

/**
 * The producers of one transport, each with a listener on its observer's 'score' (same event in
 * mediasoup 3.12 and 3.27) that calls `onZero` when a receive stream's score drops to 0, and one
 * on its 'close' that removes both. The watch listens to `transport.observer` 'newproducer' and
 * makes this at the first producer: most transports (receive-only ones) never have one.
 */
export class ProducerScores {
	readonly #onZero: () => void;
	readonly #producers = new Map<ProducerLike, ProducerListeners>();

	constructor(onZero: () => void) {
		this.#onZero = onZero;
	}

	/** A `newproducer` of the transport: listens to its scores until it or the watch closes. */
	add(producer: unknown): void {
		const candidate = producer as ProducerLike | undefined;
		if (!candidate?.observer || candidate.closed || this.#producers.has(candidate)) return;
		const listeners: ProducerListeners = {
			score: (scores) => {
				if (scoreIsZero(scores)) this.#onZero();
			},
			close: () => this.#release(candidate),
		};
		this.#producers.set(candidate, listeners);
		candidate.observer.on('score', listeners.score as never);
		candidate.observer.on('close', listeners.close);
	}

	/** Removes every listener it added. */
	release(): void {
		for (const producer of [...this.#producers.keys()]) this.#release(producer);
	}

	#release(producer: ProducerLike): void {
		const listeners = this.#producers.get(producer);
		if (!listeners) return;
		this.#producers.delete(producer);
		producer.observer.off('score', listeners.score as never);
		producer.observer.off('close', listeners.close);
	}
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
