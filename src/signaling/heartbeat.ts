// ws ping/pong heartbeat: the pattern of ws's own README (ping every interval; a socket whose pong
// did not come back by the next tick is dead), with the watchdog's clock and one timer.
import type { Clock } from '../clock.js';
import { TimerSlot } from '../clock.js';
import { Logger } from '../logger.js';
import type { PingableSocket } from './adapters.js';

const logger = new Logger('Heartbeat');

export class Heartbeat {
	readonly #socket: PingableSocket;
	readonly #intervalMs: number;
	readonly #clock: Clock;
	readonly #timer: TimerSlot;
	readonly #onMiss: (lastPongAt: number) => void;
	readonly #onPong = (): void => {
		this.#awaitingPong = false;
		this.#lastPongAt = this.#clock.now();
	};
	#awaitingPong = false;
	#lastPongAt: number;
	#stopped = false;

	/** `onMiss` gets the clock time of the last sign of life (the last pong, or the start). */
	constructor(socket: PingableSocket, intervalMs: number, clock: Clock, onMiss: (lastPongAt: number) => void) {
		this.#socket = socket;
		this.#intervalMs = intervalMs;
		this.#clock = clock;
		this.#timer = new TimerSlot(clock);
		this.#onMiss = onMiss;
		this.#lastPongAt = clock.now();
		socket.on('pong', this.#onPong);
		this.#timer.arm(intervalMs, () => this.#tick());
	}

	/** Clears the timer and removes the pong listener. Idempotent. */
	stop(): void {
		if (this.#stopped) return;
		this.#stopped = true;
		this.#timer.clear();
		this.#socket.off('pong', this.#onPong);
	}

	#tick(): void {
		if (this.#stopped) return;
		if (this.#awaitingPong) {
			logger.debug('tick() no pong [intervalMs:%d, silentMs:%d]', this.#intervalMs, this.#clock.now() - this.#lastPongAt);
			const lastPongAt = this.#lastPongAt;
			this.stop();
			this.#onMiss(lastPongAt);
			return;
		}
		this.#awaitingPong = true;
		try {
			this.#socket.ping();
		} catch (error) {
			// ws throws while CONNECTING; a closing socket will report its own close.
			logger.debug('tick() ping() threw: %o', error);
		}
		this.#timer.arm(this.#intervalMs, () => this.#tick());
	}
}
