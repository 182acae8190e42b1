// Media health in Firefox: webvoice in Firefox ESR (alice) against webvoice in
// Chromium (bob), both on relay-only ICE through coturn on loopback
// (startRelay; Firefox with LOOPBACK_RELAY, without which it gathers no relay
// candidate from a TURN server on 127.0.0.1), as tests/e2e/test_media_health.py
// does it in Chromium.
//
// * A relay outage is healed by webvoice by itself: the relay is killed mid
//   call, the caller's media goes `interrupted` and the audio stops; the relay
//   stays down past the caller's first ICE restart (which gathers nothing, so
//   is not offered); once it is back, an ICE restart (re-INVITE with new ICE
//   credentials) brings audio back within 10 s, events in order (media_connected,
//   media_interrupted, media_recovered), whichever browser placed the call.
//   Firefox may keep the connection `connected` for over 40 s after the relay
//   died (1-2 runs in 6 before webvoice watched for it): webvoice notices
//   that nothing arrives (ua_config media_stall_timeout, default 8 s; cause
//   "RTP") and restarts by itself. (As the callee Firefox may see Chromium's
//   restart first and never report the interruption; its audio is checked,
//   not its events.) With Chromium
//   restarting, Firefox answers the re-offer `a=setup:active` even when it
//   is the DTLS server, which Chromium refuses ("Failed to set SSL role for
//   the transport"): webvoice keeps its DTLS role when it answers
//   (keep_dtls_role in webvoice/browser/_negotiation.py); without that, the call
//   Firefox placed heals only when Firefox's own restart comes first.
// * Media that cannot connect ends the call: alice's page spoils the answer
//   it applies (devtools/pages/mangle-answer.js): a DTLS fingerprint that
//   cannot match, or a wrong ICE password; Firefox's watchdog raises
//   media_failed with the cause and ends the call ("WebRTC Error" and a BYE)
//   on both sides, within its bound.

import assert from "node:assert/strict";
import path from "node:path";
import { after, afterEach, before, describe, test } from "node:test";

import {
  endAllCalls, launchChromium, launchFirefox, LOOPBACK_RELAY, makePhone, REPO, startRelay, startServers, withLogs,
} from "./harness.mjs";

const WATCHDOG = 3; // alice's ua_config media_timeout
const MANGLE = path.join(REPO, "devtools/pages/mangle-answer.js");
const HEALTH = ["media_connected", "media_interrupted", "media_recovered", "media_failed"];
const RECORD = `
import time
health = []
def health_handler(tag):
    def handler(event):
        health.append([tag, event.cause, event.state, event.connection, event.ice, time.monotonic()])
    return handler
def watch(c):
    for name in ${JSON.stringify(HEALTH)}:
        c.on(name, health_handler(name))
async def packets_growth(c, seconds=0.5):
    first = (await c.get_stats())["inbound"]["packets_received"]
    await asyncio.sleep(seconds)
    return (await c.get_stats())["inbound"]["packets_received"] - first
async def flowing(c, timeout=10.0):
    # Packets over half a second once they flow (a path just up, or Firefox's
    # sender just started, may carry few at first); the last count after timeout.
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        growth = await packets_growth(c)
        if growth > 5 or loop.time() > deadline:
            return growth
`;

let servers, relay, firefox, chromium, alice, bob;

before(async () => {
  [servers, relay] = await Promise.all([startServers(), startRelay()]);
  [firefox, chromium] = await Promise.all([launchFirefox(LOOPBACK_RELAY), launchChromium()]);
  const options = { call_options: { pc_config: relay.pcConfig } };
  [alice, bob] = await Promise.all([
    makePhone(firefox, servers, "alice", { ...options, ua_config: { media_timeout: WATCHDOG } },
      { initScript: MANGLE }),
    makePhone(chromium, servers, "bob", options),
  ]);
  for (const phone of [alice, bob]) await phone.py(RECORD);
});

afterEach(async () => {
  if (!relay.process) await relay.start(); // a failed outage test must not leave the next without a relay
  await alice.page.evaluate(() => { window.webvoiceMangle = null; });
  await endAllCalls([alice, bob]);
});

after(async () => {
  for (const phone of [alice, bob]) await phone?.close();
  await Promise.allSettled([firefox?.close(), chromium?.close()]);
  await relay?.stop();
  await servers?.stop();
});

// caller calls callee, who answers; both watch the call's media events from its start
// (the callee answers once it watches).
async function connect(caller, callee) {
  await callee.py("events.clear(); incoming.clear(); health.clear(); mode['answer'] = 'manual'");
  await caller.py(`
events.clear(); health.clear()
call = await sip.call(${JSON.stringify(callee.user)}, recorders())
watch(call)
calls.append(call)
`);
  await callee.py("await wait_for(lambda: incoming)\ncall = incoming[-1].call\nwatch(call)\n" +
    "incoming[-1].accept()\nawait wait_for(lambda: call.is_established() or call.is_ended())");
  await caller.py("await wait_for(lambda: call.is_established() or call.is_ended())\nanswered = time.monotonic()");
}

describe("media health in Firefox", () => {
  for (const [label, who] of [["Firefox calls Chromium", "alice"], ["Chromium calls Firefox", "bob"]]) {
    test(`${label}: a relay outage is healed by an ICE restart`, () => withLogs([alice, bob], async () => {
      const [caller, callee] = who === "alice" ? [alice, bob] : [bob, alice];
      await connect(caller, callee);
      for (const phone of [alice, bob]) {
        await phone.py("await wait_for(lambda: call.get_media_state() == 'connected')");
        const growth = await phone.py("await flowing(call)", { timeoutMs: 20_000 });
        assert.ok(growth > 5, `${phone.name}: no audio through the relay (${growth} packets in 0.5 s after 10 s)`);
      }
      assert.match(await alice.py("call.get_connection().remoteDescription.sdp"), /typ relay/);
      // what media health reads to notice a dead relay Firefox itself may not (RTP and RTCP bytes)
      const transport = await alice.py("(await call.get_stats())['transport']");
      assert.ok(transport.bytes_received > 0, JSON.stringify(transport));
      await relay.stop();
      // ICE notices the dead relay once consent checks go unanswered; the caller restarts first.
      await caller.py("await wait_for(lambda: call.get_media_state() == 'interrupted', timeout=40)",
        { timeoutMs: 50_000 });
      assert.equal(await caller.py("await packets_growth(call)"), 0, "the audio stopped");
      // Down past the caller's first restart (1 s after the interruption, gathering for
      // at most 1.5 s): it gathers nothing and is not offered; a later one heals.
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      await relay.start();
      const back = await caller.py("time.monotonic()");
      for (const phone of [alice, bob]) {
        await phone.py("await wait_for(lambda: call.get_media_state() == 'connected' or call.is_ended(), timeout=30)",
          { timeoutMs: 40_000 });
      }
      const health = await caller.py("health");
      console.log(`${caller.name} health`, JSON.stringify(health.map((h) => [h[0], h[1], +(h[5] - back).toFixed(2)])));
      assert.deepEqual(health.map((h) => h[0]), ["media_connected", "media_interrupted", "media_recovered"],
        JSON.stringify(health));
      assert.ok(health[2][5] - back <= 10, `restored ${health[2][5] - back} s after the relay was back: ${JSON.stringify(health)}`);
      for (const phone of [alice, bob]) {
        const growth = await phone.py("await flowing(call)", { timeoutMs: 20_000 });
        assert.ok(growth > 5, `${phone.name}: no audio after the restart (${growth} packets in 0.5 s after 10 s)`);
        assert.equal(await phone.py("call.is_established()"), true);
      }
    }));
  }

  for (const [mangle, cause] of [["fingerprint", "DTLS"], ["ice-pwd", "ICE"]]) {
    test(`an answer with a spoilt ${mangle}: the watchdog ends the call on both sides (${cause})`,
      () => withLogs([alice, bob], async () => {
        await alice.page.evaluate((how) => { window.webvoiceMangle = how; }, mangle);
        await connect(alice, bob);
        await alice.py(`await wait_for(call.is_ended, timeout=${4 * WATCHDOG})`, { timeoutMs: 30_000 });
        assert.ok(await alice.page.evaluate(() => window.webvoiceMangled) >= 1);
        const health = await alice.py("health");
        assert.deepEqual(health.map((h) => h[0]), ["media_failed"], JSON.stringify(health));
        assert.equal(health[0][1], cause);
        const elapsed = health[0][5] - await alice.py("answered");
        assert.ok(elapsed <= WATCHDOG + 1.5, `media_failed ${elapsed} s after the answer`); // the bound is the point
        assert.deepEqual(await alice.py("[e[:3] for e in events if e[0] in ('ended', 'failed')]"),
          [["ended", "WebRTC Error", "local"]]);
        await bob.py("await wait_for(call.is_ended)");
        assert.deepEqual(await bob.py("[e[:3] for e in events if e[0] in ('ended', 'failed')]"),
          [["ended", "Bye", "remote"]]);
        assert.deepEqual(await alice.py("sip.get_call_lines()"), []);
        assert.equal(await alice.py("audio_elements()"), 0);
      }));
  }
});
