import debug from 'debug';

const APP_NAME = 'mediasoup-watchdog';

/** One logger per module: `mediasoup-watchdog:Module`, `…:WARN:Module`, `…:ERROR:Module`. */
export class Logger {
	readonly debug: debug.Debugger;
	readonly warn: debug.Debugger;
	readonly error: debug.Debugger;

	constructor(prefix: string) {
		this.debug = debug(`${APP_NAME}:${prefix}`);
		this.warn = debug(`${APP_NAME}:WARN:${prefix}`);
		this.error = debug(`${APP_NAME}:ERROR:${prefix}`);
	}
}
