// Issue 18 end to end in Firefox ESR: mediasoup-watchdog/client in a real page against the real
// mediasoup 3.27 worker (in a test namespace whose network the test cuts). See
// test/helpers/client-companion/suite.ts for the scenarios and docs/client.md for the companion.
import { companionSuite } from '../helpers/client-companion/suite.js';

companionSuite('firefox');
