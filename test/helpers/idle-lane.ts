/**
 * Time to start an idle-lane file's clients (vitest.config.ts IDLE_LANE), on top of its window
 * of healthy clients. The lane runs its four files side by side on a 2-core machine, each
 * starting browsers, GStreamer pipelines or werift children while the others do too: starting
 * took up to about a minute with nothing else running, over 75 s with a CPU hog as well, and a
 * file whose limit left its clients ~85 s (liveness-muted: 150 s for a 64 s window; it took up
 * to 137 s) is the likeliest failure of a CI run whose output did not name it. A slow start is
 * the harness's cost, not a verdict: every idle-lane file gets this much for it.
 */
export const IDLE_LANE_SETUP_BUDGET_MS = 180_000;
