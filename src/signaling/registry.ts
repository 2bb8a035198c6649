// PLACEHOLDER — signaling adapters (issue 6) replace this file.
import type { BindSessionOptions, SessionBinding, SignalingSession } from './types.js';

export interface SignalingHost {
	closeUser(userId: string, reason: 'signaling-closed' | 'signaling-lost', detail: string, detectionMs: number | null): void;
}

export class SignalingRegistry {
	constructor(_host: SignalingHost) {}

	bind(_userId: string, _session: SignalingSession, _options: BindSessionOptions = {}): SessionBinding {
		throw new Error('bindSession() is not implemented yet');
	}

	/** The verdict for a user whose transport is being watched now (late creation). */
	verdictFor(_userId: string): undefined | { reason: 'signaling-closed' | 'signaling-lost'; detail: string } {
		return undefined;
	}

	stop(): void {}
}
