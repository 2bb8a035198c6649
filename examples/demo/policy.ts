// The demo's policy: the library's defaults are 10–15 s; the demo uses a few seconds so that every
// scenario ends quickly. Printed at the start of every run.
import { definePolicy, type WatchdogPolicy } from '../../src/index.js';

export const DEMO_POLICY: WatchdogPolicy = definePolicy({
	connectTimeoutMs: 3_000,
	disconnectGraceMs: 3_000,
	inactivityTimeoutMs: 5_000,
	liveness: { pollIntervalMs: 500 },
	iceRestart: {
		requireConnectedOnce: true,
		perUser: { limit: 1, windowMs: 30_000 },
		reconnectTimeoutMs: 3_000,
	},
	signalingGraceMs: 2_000,
});

/** How long the healthy call is held before the demo hangs it up. */
export const HEALTHY_HOLD_MS = 8_000;

/** One line per setting, for the start of the run. */
export function describePolicy(policy: WatchdogPolicy): string[] {
	const perUser = policy.iceRestart.perUser;
	return [
		`connectTimeoutMs ${policy.connectTimeoutMs}`,
		`disconnectGraceMs ${policy.disconnectGraceMs}`,
		`inactivityTimeoutMs ${policy.inactivityTimeoutMs} (polled every ${policy.liveness.pollIntervalMs} ms)`,
		`iceRestart: requireConnectedOnce ${policy.iceRestart.requireConnectedOnce}, perUser ${
			perUser === false ? 'off' : `${perUser.limit} per ${perUser.windowMs} ms`
		}, reconnectTimeoutMs ${policy.iceRestart.reconnectTimeoutMs}`,
		`signalingGraceMs ${policy.signalingGraceMs}`,
	];
}
