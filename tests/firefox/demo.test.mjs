// The demo (demo/serve.py, run as `make demo` runs it) in Firefox, by clicking.
//
// The PyScript softphone in Firefox signs in as alice and calls bob, whose
// softphone runs in Chromium: bob answers, media flows both ways (the
// quality panels count packets), alice holds and resumes, sends DTMF by
// SIP INFO from the dial pad (bob's page reports it), and hangs up.  Then the
// demo's worker page in Firefox runs webvoice in a PyScript worker (the
// bridged media backend: SIP in the worker, WebRTC on the page through the
// media agent) and calls bob, who answers; audio flows both ways.  In a
// Firefox without WebRTC the worker's call fails cleanly.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import { BOOT_TIMEOUT_MS, launchChromium, launchFirefox, openPage, RESTRICTED, startDemo } from "./harness.mjs";

const STEP_MS = 20_000;

let demo, firefox, chromium, alice, bob;

before(async () => {
  demo = await startDemo();
  [firefox, chromium] = await Promise.all([launchFirefox(), launchChromium()]);
  [alice, bob] = await Promise.all([openPage(firefox, "alice@firefox"), openPage(chromium, "bob@chromium")]);
  await Promise.all([alice, bob].map(async ({ page }) => {
    await page.goto(demo.url("/"));
    await page.waitForFunction("document.body.dataset.ready === 'yes'", { timeout: BOOT_TIMEOUT_MS });
  }));
  await signIn(alice.page, "alice");
  await signIn(bob.page, "bob");
});

after(async () => {
  for (const phone of [alice, bob]) await phone?.close();
  await Promise.allSettled([firefox?.close(), chromium?.close()]);
  await demo?.stop(); // checks that it stops cleanly
});

async function signIn(page, user) {
  await waitFor(page, () => /^ws:\/\/127\.0\.0\.1:\d+$/.test(document.querySelector("#ws-url").value));
  await page.select("#user-picker", user);
  await waitFor(page, (user) => document.querySelector("#password").value === `${user}-secret`, user);
  await page.click("#signin-btn");
  await waitFor(page, () => document.querySelector("#reg-state").dataset.state === "registered");
  assert.match(await text(page, "#reg-state"), new RegExp(`${user}@webvoice.test`));
}

function waitFor(page, predicate, ...args) {
  return page.waitForFunction(predicate, { timeout: STEP_MS }, ...args);
}

// The softphone re-renders its lines as media state and stats change: find
// and click in one step inside the page, so the element cannot go stale
// between the two.
const clickIn = (page, selector) => page.$eval(selector, (el) => el.click());
const text = (page, selector) => page.$eval(selector, (el) => el.textContent);
const lineAttribute = (name, value) => (page) => waitFor(page, (name, value) => {
  const lines = document.querySelectorAll("#lines li.line");
  return lines.length === 1 && lines[0].getAttribute(name) === value;
}, name, value);
const lineConfirmed = lineAttribute("data-status", "confirmed");
const packetsAbove = (page, n) => waitFor(page, (n) => Number(document.getElementById("q-rx").textContent) > n, n);
const activityHas = (page, words) => waitFor(page, (words) => document.getElementById("activity").textContent.includes(words), words);

async function answer(page, caller, timeout = STEP_MS) {
  await page.waitForFunction(() => !document.getElementById("incoming").hidden, { timeout });
  assert.equal(await text(page, "#incoming-text"), caller);
  await page.click("#answer-btn");
}

async function noErrors(...phones) {
  for (const { page, log, label } of phones) {
    assert.equal(await page.$eval("#error", (el) => el.hidden), true, `${label}: ${await text(page, "#error-text")}`);
    const errors = log.filter((line) => line.includes("[pageerror]") || line.includes("Traceback"));
    assert.deepEqual(errors, [], label);
  }
}

function withLogs(phones, body) {
  return body().catch((error) => {
    error.message += "\n--- browser consoles (last lines) ---\n" + phones.flatMap((p) => p.log.slice(-40)).join("\n");
    throw error;
  });
}

describe("the demo in Firefox", () => {
  test("the PyScript softphone signs in, calls, holds, sends DTMF and hangs up", () => withLogs([alice, bob], async () => {
    await alice.page.type("#target", "bob");
    await clickIn(alice.page, "#call-btn");
    await answer(bob.page, "alice");
    for (const { page } of [alice, bob]) await lineConfirmed(page);
    for (const { page } of [alice, bob]) {
      await packetsAbove(page, 25);
      assert.equal(await text(page, "#q-codec"), "opus");
    }
    await clickIn(alice.page, "#lines [data-action=hold]");
    await lineAttribute("data-held", "true")(alice.page);
    await lineAttribute("data-remote-held", "true")(bob.page);
    await activityHas(bob.page, "alice put the call on hold");
    await clickIn(alice.page, "#lines [data-action=resume]");
    await lineAttribute("data-remote-held", "false")(bob.page);
    await alice.page.select("#dtmf-mode", "INFO");
    await clickIn(alice.page, "#dialpad [data-digit='#']");
    await activityHas(alice.page, "Sent DTMF # (SIP INFO)");
    await activityHas(bob.page, "alice pressed # (DTMF)");
    const before = Number(await text(bob.page, "#q-rx"));
    await packetsAbove(bob.page, before + 25); // flowing again after the resume
    await clickIn(alice.page, "#hangup-btn");
    for (const { page } of [alice, bob]) await waitFor(page, () => !document.querySelector("#lines li.line"));
    await activityHas(bob.page, "Call with alice ended (hung up by them)");
    await noErrors(alice, bob);
  }));

  test("webvoice in a PyScript worker (bridged media) calls from Firefox", async () => {
    const worker = await openPage(firefox, "carol@firefox-worker");
    const status = () => worker.page.evaluate(() => window.workerStatus || []);
    await withLogs([worker, bob], async () => {
      await worker.page.goto(demo.url("/worker/?user=carol&call=bob"));
      await answer(bob.page, "carol", BOOT_TIMEOUT_MS); // once the worker has booted
      await worker.page.waitForFunction(() => (window.workerStatus || []).some((r) => r.event === "confirmed"),
        { timeout: BOOT_TIMEOUT_MS });
      assert.ok((await status()).some((r) => r.event === "registered" && r.in_worker), JSON.stringify(await status()));
      // The worker has no DOM and no WebRTC: the page's media agent holds the call's audio.
      assert.equal(await worker.page.evaluate(() => document.querySelectorAll("audio[data-webvoice-line]").length), 1);
      await lineConfirmed(bob.page);
      await packetsAbove(bob.page, 25);
      await worker.page.waitForFunction(
        () => window.workerStatus.some((r) => r.event === "stats" && r.inbound > 50), { timeout: STEP_MS });
      await clickIn(bob.page, "#hangup-btn");
      await worker.page.waitForFunction(() => window.workerStatus.some((r) => r.event === "ended"), { timeout: STEP_MS });
      await waitFor(worker.page, () => document.querySelectorAll("audio[data-webvoice-line]").length === 0);
      await noErrors(bob);
    }).finally(() => worker.close());
  });

  test("the softphone's fast boot (?boot=fast) restores the snapshot in Firefox, signs in and calls", async () => {
    // The snapshot was made in Node from the very Pyodide served: Firefox
    // restores it (boot.mjs says which path it took: a fallback would be
    // "normal", with the reason in data-boot-reason), then the same softphone
    // as PyScript's calls bob in Chromium.
    const fast = await openPage(firefox, "carol@firefox-fast-boot");
    await withLogs([fast, bob], async () => {
      await fast.page.goto(demo.url("/?boot=fast"));
      await fast.page.waitForFunction("document.body.dataset.ready === 'yes'", { timeout: BOOT_TIMEOUT_MS });
      const boot = await fast.page.evaluate(() => [document.body.dataset.boot, document.body.dataset.bootReason]);
      assert.deepEqual(boot, ["snapshot", undefined]);
      await signIn(fast.page, "carol");
      await fast.page.type("#target", "bob");
      await clickIn(fast.page, "#call-btn");
      await answer(bob.page, "carol");
      for (const { page } of [fast, bob]) await lineConfirmed(page);
      await packetsAbove(fast.page, 25);
      await clickIn(fast.page, "#hangup-btn");
      for (const { page } of [fast, bob]) await waitFor(page, () => !document.querySelector("#lines li.line"));
      await noErrors(fast, bob);
    }).finally(() => fast.close());
  });

  test("in a Firefox without WebRTC, the worker's call fails cleanly before the microphone is asked for", async () => {
    // No RTCPeerConnection and a blocked microphone (RESTRICTED): the page's
    // media agent must refuse the call as "WebRTC Error", not "User Denied Media Access".
    const restricted = await launchFirefox(RESTRICTED);
    try {
      const worker = await openPage(restricted, "dave@firefox-worker-no-webrtc");
      await withLogs([worker], async () => {
        await worker.page.goto(demo.url("/worker/?user=dave&call=bob"));
        await worker.page.waitForFunction(() => (window.workerStatus || []).some((r) => r.event === "failed"),
          { timeout: BOOT_TIMEOUT_MS });
        const failed = (await worker.page.evaluate(() => window.workerStatus)).filter((r) => r.event === "failed");
        assert.deepEqual(failed.map((r) => r.cause), ["WebRTC Error"]);
        assert.equal(await worker.page.evaluate(() => document.querySelectorAll("audio").length), 0);
      });
    } finally {
      await restricted.close();
    }
  });
});
