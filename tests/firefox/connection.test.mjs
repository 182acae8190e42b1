// A dead connection that looks open, in Firefox (as tests/e2e/test_dead_flow.py
// in Chromium): alice in Firefox ESR reaches Kamailio through a proxy whose
// path then dies without closing anything (startBlackholeProxy). Firefox's
// WebSocket stays "open"; webvoice sees that Kamailio, which answered its
// keep-alive pings so far, stops answering (RFC 5626 4.4.1: 10 s), drops the
// connection, connects again through the proxy and registers again.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";

import { launchFirefox, makePhone, REPO, startBlackholeProxy, startServers, withLogs } from "./harness.mjs";

let servers, proxy, firefox, alice;

before(async () => {
  [servers, firefox] = await Promise.all([startServers(), launchFirefox()]);
  proxy = await startBlackholeProxy(servers.ws_url);
  alice = await makePhone(firefox, { ...servers, ws_url: proxy.url }, "erin", {
    ua_config: { keep_alive_interval: 1, connection_recovery_min_interval: 0.5, connection_recovery_max_interval: 1 },
  });
});

after(async () => {
  await alice?.close();
  await firefox?.close();
  await proxy?.stop();
  await servers?.stop();
});

describe("a dead connection in Firefox", () => {
  test("a connection whose path died is dropped, made again and registered again", () => withLogs([alice], async () => {
    await alice.py(readFileSync(path.join(REPO, "devtools/pages/connection_log.py"), "utf8"));
    await alice.py("await asyncio.sleep(2.5)"); // pings answered: Kamailio is known to answer them
    assert.equal(proxy.blackhole(), 1);
    const died = await alice.py("time.monotonic()");
    await alice.py("await wait_for(lambda: [c for c in conn if c[0] == 'registered'], timeout=30)", { timeoutMs: 40_000 });
    const events = await alice.py("conn");
    assert.deepEqual(events.map((e) => e[0]), ["disconnected", "connected", "registered"], JSON.stringify(events));
    assert.deepEqual(events[0].slice(2), [1006, "no answer to a keep-alive ping in 10 s"]);
    const after = events[0][1] - died;
    assert.ok(after >= 10 && after <= 13, `dropped ${after} s after the path died`);
    assert.equal(await alice.py("sip.is_registered() and sip.is_connected()"), true);
  }));
});
