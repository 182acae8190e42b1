// The Firefox tier's machinery: servers, browsers, phone pages, Python in a page.
//
// Firefox ESR (Debian) is driven by puppeteer-core over WebDriver BiDi, and
// Debian's Chromium by the same library over CDP, so one test can call from
// one browser to the other.  The servers are the Python tiers' own: the
// repo's Kamailio and the e2e static server (servers.py), or the demo server
// exactly as `make demo` runs it (python -m demo.serve).
//
//   const servers = await startServers();          // Kamailio + build/web
//   const firefox = await launchFirefox();
//   const alice = await makePhone(firefox, servers, "alice");
//   await alice.py("await sip.call('bob')");       // Python in the page
//
// Every wait is bounded from here: a page snippet races a timer, page waits
// have timeouts, and puppeteer's protocolTimeout bounds the rest.

import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import dgram from "node:dgram";
import net from "node:net";
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import path from "node:path";
import { fileURLToPath } from "node:url";
import puppeteer from "puppeteer-core";

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const PYTHON = path.join(REPO, ".venv/bin/python");
const FIREFOX = process.env.WEBVOICE_FIREFOX || "/usr/bin/firefox-esr";
const PHONE = readFileSync(path.join(REPO, "tests/firefox/phone.py"), "utf8");

export const BOOT_TIMEOUT_MS = 120_000;
const PROTOCOL_TIMEOUT_MS = 180_000;

// --- servers ------------------------------------------------------------------------------

// Spawn a Python server and wait for what it prints; `parse(line, found)`
// fills `found` and returns true once everything needed is known.
async function spawnServer(args, parse, { timeoutMs = 60_000 } = {}) {
  const child = spawn(PYTHON, args, { cwd: REPO, stdio: ["pipe", "pipe", "pipe"] });
  const output = [];
  const found = {};
  const lines = createInterface({ input: child.stdout });
  const errLines = createInterface({ input: child.stderr });
  errLines.on("line", (line) => output.push(line));
  const exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => fail(`not ready after ${timeoutMs} ms`), timeoutMs);
    function fail(why) {
      clearTimeout(timer);
      child.kill("SIGKILL");
      reject(new Error(`${args.join(" ")}: ${why}\n${output.join("\n")}`));
    }
    lines.on("line", (line) => {
      output.push(line);
      try {
        if (parse(line, found)) {
          clearTimeout(timer);
          resolve();
        }
      } catch (error) {
        fail(String(error.message || error));
      }
    });
    exited.then(({ code, signal }) => fail(`exited (${code ?? signal}) before it was ready`));
  });
  return { child, found, output, exited };
}

// Kamailio and the static server (build/web at /, test pages at /test-pages/).
export async function startServers() {
  const { child, found, exited } = await spawnServer(["-m", "tests.firefox.servers"], (line, found) => {
    const info = JSON.parse(line);
    if (info.error) throw new Error(info.error);
    Object.assign(found, info);
    return true;
  });
  return {
    ...found,
    url: (p) => found.base_url + p,
    async stop() {
      child.stdin.end(); // the server stops when its stdin closes
      await bounded(exited, 20_000, "tests.firefox.servers did not stop");
    },
  };
}

// A TCP proxy in front of `target` ("ws://host:port"), for a path that dies under a
// connection: blackhole() drops every byte of the connections open so far and
// closes none, so both ends still think they are connected (as when a NAT
// forgets a long-lived connection); connections made after it work. The same
// as devtools/delay_proxy.py's, without its delay.
export async function startBlackholeProxy(target) {
  const { hostname, port } = new URL(target);
  const paths = [];
  const sockets = new Set();
  const server = net.createServer((client) => {
    const path = { dead: false };
    const upstream = net.connect(Number(port), hostname);
    for (const [from, to] of [[client, upstream], [upstream, client]]) {
      sockets.add(from);
      from.on("data", (data) => { if (!path.dead) to.write(data); });
      from.on("end", () => { if (!path.dead) to.end(); });
      from.on("error", () => to.destroy());
      from.on("close", () => sockets.delete(from));
    }
    paths.push(path);
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `ws://127.0.0.1:${server.address().port}`,
    blackhole() {
      for (const path of paths) path.dead = true;
      return paths.length;
    },
    async stop() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

// demo.serve on free ports, as `make demo` runs it (python -m demo.serve); stopped by SIGTERM.
export async function startDemo() {
  const patterns = {
    base_url: /Softphone:\s+(http:\/\/\S+)\//,
    ws_url: /SIP server:\s+(ws:\/\/\S+)/,
  };
  const { child, found, output, exited } = await spawnServer(
    ["-m", "demo.serve", "--port", "0", "--ws-port", "0", "--sip-port", "0"],
    (line, found) => {
      for (const [key, re] of Object.entries(patterns)) {
        const m = line.match(re);
        if (m) found[key] = m[1];
      }
      return Object.keys(patterns).every((key) => key in found);
    });
  return {
    ...found,
    url: (p) => found.base_url + p,
    async stop() {
      child.kill("SIGTERM");
      const { code } = await bounded(exited, 20_000, "demo.serve did not stop");
      if (code !== 0) throw new Error(`demo.serve exited ${code}:\n${output.join("\n")}`);
    },
  };
}

// coturn's turnserver on loopback (long-term credentials u:p), as the e2e
// tier's relay fixture runs it (tests/e2e/test_media_health.py): a test
// stops it to break the media path and starts it again on the same port.
// Missing coturn fails (tools/install_deps.sh installs it): no silent skip.
export async function startRelay() {
  let binary;
  try {
    binary = execFileSync("sh", ["-c", "command -v turnserver"], { encoding: "utf8" }).trim();
  } catch {
    throw new Error("coturn's turnserver is not installed (tools/install_deps.sh installs it)");
  }
  const port = await new Promise((resolve, reject) => {
    const socket = dgram.createSocket("udp4");
    socket.on("error", reject);
    socket.bind(0, "127.0.0.1", () => { const { port } = socket.address(); socket.close(() => resolve(port)); });
  });
  const relay = {
    port, process: null,
    // RTCPeerConnection configuration: relay-only ICE through it.
    pcConfig: { iceTransportPolicy: "relay", iceServers: [
      { urls: `turn:127.0.0.1:${port}?transport=udp`, username: "u", credential: "p" }] },
    async start() {
      relay.process = spawn(binary, ["-n", "--listening-ip=127.0.0.1", "--relay-ip=127.0.0.1",
        "--allow-loopback-peers", "--lt-cred-mech", "--user=u:p", "--realm=webvoice.test", "--no-tls",
        "--no-dtls", "--no-cli", `--listening-port=${port}`, "--log-file=stdout"], { stdio: "ignore" });
      relay.exited = new Promise((resolve) => relay.process.once("exit", resolve));
      for (let i = 0; i < 100; i++) { // it answers a STUN binding request (bounded: 100 tries)
        if (await stunAnswers(port)) return;
      }
      throw new Error(`turnserver did not start on port ${port}`);
    },
    async stop() {
      if (!relay.process) return;
      relay.process.kill("SIGKILL");
      await bounded(relay.exited, 10_000, "turnserver did not stop");
      relay.process = null;
    },
  };
  await relay.start();
  return relay;
}

function stunAnswers(port) {
  return new Promise((resolve) => {
    const socket = dgram.createSocket("udp4");
    const done = (answered) => { clearTimeout(timer); socket.close(); resolve(answered); };
    const timer = setTimeout(() => done(false), 200);
    socket.on("message", (msg) => done(msg[0] === 0x01 && msg[1] === 0x01));
    socket.on("error", () => done(false));
    socket.send(Buffer.concat([Buffer.from([0, 1, 0, 0, 0x21, 0x12, 0xa4, 0x42]), Buffer.from("webvoice-tst")]),
      port, "127.0.0.1");
  });
}

// --- browsers -----------------------------------------------------------------------------

// Firefox with a fake microphone and no permission prompt.  No PulseAudio:
// with PulseAudio's null sinks Firefox's media clock starves on this kind of
// machine and it sends a fraction of its RTP; with no audio server at all it
// runs on its own clock (it then lists one microphone and no speaker).
// PULSE_SERVER pointing nowhere keeps it off any PulseAudio that may run
// (and stops libpulse from spawning one).  Background tabs keep full-speed
// timers: several phones share one Firefox, one tab each, and only one tab
// is ever in front.
// `prefs` add to or override these.
export async function launchFirefox(prefs = {}) {
  return puppeteer.launch({
    browser: "firefox",
    executablePath: FIREFOX,
    headless: true,
    protocolTimeout: PROTOCOL_TIMEOUT_MS,
    env: { ...process.env, PULSE_SERVER: "unix:/nonexistent/webvoice-no-pulse" },
    extraPrefsFirefox: {
      "media.navigator.streams.fake": true,
      "media.navigator.permission.disabled": true,
      "dom.min_background_timeout_value": 4,
      "dom.min_background_timeout_value_without_budget_throttling": 4,
      "dom.timeout.enable_budget_timer_throttling": false,
      ...prefs,
    },
  });
}

// Prefs for a Firefox whose calls use the loopback relay of startRelay().
// Firefox gathers from the loopback interface only with
// media.peerconnection.ice.loopback, and a TURN server on 127.0.0.1 is only
// reached from it: without the pref, relay-only ICE gathers no candidate at
// all ("ICE failed, your TURN server appears to be broken").
export const LOOPBACK_RELAY = { "media.peerconnection.ice.loopback": true };

// Prefs for a Firefox without WebRTC (no RTCPeerConnection, as in a browser
// built without it, such as Debian's WebKitGTK) whose microphone permission
// is "block": what webvoice must meet with a clear failure.
export const RESTRICTED = {
  "media.peerconnection.enabled": false,
  "media.navigator.permission.disabled": false,
  "permissions.default.microphone": 2,
};

// Chromium as the Python tiers launch it: the binary and flags of
// devtools/chromium.py (with the fake microphone).
export async function launchChromium() {
  const [executablePath, args] = JSON.parse(execFileSync(PYTHON, ["-c", `
import json
from devtools.chromium import CHROMIUM, CHROMIUM_ARGS, FAKE_MEDIA_ARGS
print(json.dumps([CHROMIUM, CHROMIUM_ARGS + FAKE_MEDIA_ARGS]))`], { cwd: REPO, encoding: "utf8" }));
  return puppeteer.launch({
    browser: "chrome",
    executablePath,
    headless: true,
    protocolTimeout: PROTOCOL_TIMEOUT_MS,
    args,
  });
}

export function browserName(browser) {
  return browser.process() && /firefox/i.test(browser.process().spawnfile) ? "firefox" : "chromium";
}

// --- pages --------------------------------------------------------------------------------

// A page in its own browser context, whose console and errors are kept for
// the failure report.
export async function openPage(browser, label) {
  const context = await browser.createBrowserContext();
  const page = await context.newPage();
  const log = [];
  page.on("console", (msg) => log.push(`[${label}] [${msg.type()}] ${msg.text()}`));
  page.on("pageerror", (error) => log.push(`[${label}] [pageerror] ${error.message || error}`));
  page.on("requestfailed", (req) => log.push(`[${label}] [requestfailed] ${req.url()}`));
  return { page, log, label, close: () => context.close() };
}

// Boot Pyodide and webvoice in the page (devtools/pages/boot.html, the
// e2e tier's boot page); window.pyodide is then the page's Pyodide.
export async function bootWebvoice(page, baseUrl) {
  await page.goto(baseUrl + "/test-pages/boot.html");
  await page.waitForFunction("window.bootReady === true", { timeout: BOOT_TIMEOUT_MS });
  await page.evaluate(() => {
    window.bootOutcome = undefined;
    window.bootWebvoice().then(
      (r) => { window.bootOutcome = JSON.stringify({ ok: r }); },
      (e) => { window.bootOutcome = JSON.stringify({ error: String(e.stack || e) }); });
  });
  await page.waitForFunction("window.bootOutcome", { timeout: BOOT_TIMEOUT_MS });
  const outcome = JSON.parse(await page.evaluate(() => window.bootOutcome));
  if (outcome.error) throw new Error(`webvoice boot failed in the page:\n${outcome.error}`);
  return outcome.ok;
}

export class PagePythonError extends Error {}

// Run Python in the page's Pyodide (top-level await allowed); the last
// expression comes back through JSON.  The page catches a Python exception
// and returns its text (through puppeteer a thrown PythonError from Firefox
// would arrive as "[object Object]").
export async function py(page, code, { timeoutMs = 30_000 } = {}) {
  const outcome = JSON.parse(await page.evaluate(async (code, timeoutMs) => {
    const run = window.pyodide.runPythonAsync(code).then(
      (value) => {
        const v = value && value.toJs ? value.toJs({ dict_converter: Object.fromEntries }) : value;
        if (value && value.destroy) value.destroy();
        return JSON.stringify({ ok: v === undefined || typeof v === "function" ? null : v });
      },
      (error) => JSON.stringify({ error: String(error.message || error) }));
    const timeout = new Promise((resolve) => setTimeout(
      () => resolve(JSON.stringify({ error: `timed out after ${timeoutMs} ms` })), timeoutMs));
    return await Promise.race([run, timeout]);
  }, dedent(code), timeoutMs));
  if ("error" in outcome) throw new PagePythonError(`Python in the page failed:\n${outcome.error}`);
  return outcome.ok;
}

// A page with webvoice registered as `user` on the test Kamailio; `options`
// go to create_sip_instance; `initScript`: a file the page runs before
// anything else (instrumentation such as devtools/pages/mangle-answer.js).
export async function makePhone(browser, servers, user, options = {}, { initScript = null } = {}) {
  const name = `${user}@${browserName(browser)}`;
  const { page, log, close } = await openPage(browser, name);
  const phone = {
    name, user, page, log, close,
    py: (code, opts) => py(page, code, opts),
  };
  try {
    if (initScript) await page.evaluateOnNewDocument(readFileSync(initScript, "utf8"));
    await bootWebvoice(page, servers.base_url);
    await phone.py(PHONE);
    const args = {
      sip_login: user, sip_password: servers.users[user], ws_url: servers.ws_url,
      realm: servers.domain, ...options,
    };
    await phone.py(`
sip = webvoice.create_sip_instance(**json.loads(${JSON.stringify(JSON.stringify(args))}))
sip.on_incoming_call(on_incoming)
await sip.register()
`);
  } catch (error) {
    error.message += "\n" + log.join("\n");
    await close();
    throw error;
  }
  return phone;
}

// End every call on these phones and wait until none is left on either side.
export async function endAllCalls(phones) {
  for (const phone of phones) await phone?.py("sip.terminate_sessions()");
  for (const phone of phones) {
    await phone?.py("await wait_for(lambda: sip.get_call_lines() == [] and all(c.is_ended() for c in calls))");
  }
}

// --- calls ---

// Energy is the sum of squared sample levels (0..1) over seconds of audio.
// Firefox's fake microphone is a quiet 1 kHz tone: about 0.01 a second as
// Chromium receives it (Chromium's fake beeps: over 0.2 in Firefox), so
// AUDIBLE sits a third below that; silence, or nothing received, stays
// under SILENCE once the receiver's jitter buffer has drained.
export const AUDIBLE = 0.003;
export const SILENCE = 1e-4;

// caller places a call to callee, who answers; both hold it as `call`.
export async function connect(caller, callee) {
  await callee.py("events.clear(); incoming.clear(); mode['answer'] = 'accept'");
  await caller.py(`
events.clear()
call = await sip.call(${JSON.stringify(callee.user)}, recorders())
calls.append(call)
await wait_for(call.is_established)
`);
  await callee.py("await wait_for(lambda: incoming and incoming[-1].call.is_established())\ncall = incoming[-1].call");
}

export async function hangUp(closer, other) {
  await closer.py("call.terminate()\nawait wait_for(call.is_ended)");
  await other.py("await wait_for(call.is_ended)");
  for (const phone of [closer, other]) assert.equal(await phone.py("audio_elements()"), 0, phone.name);
}

// The phone stops hearing the call (waiting, bounded, for its jitter buffer to drain).
export async function assertSilent(phone, what, call = "call") {
  const growth = await phone.py(`await until_silent(${call}, ${SILENCE})`);
  assert.ok(growth.packets <= 3 && growth.energy < SILENCE, `${what}: ${phone.name} still hears ${JSON.stringify(growth)}`);
}

// `call` names the page's call (after a transfer: "live_call()").
export async function assertHears(phone, call = "call") {
  const growth = await phone.py(`await inbound_growth(${call})`);
  assert.ok(growth.packets > 20 && growth.energy > AUDIBLE, `${phone.name} hears nothing: ${JSON.stringify(growth)}`);
}

// --- tests --------------------------------------------------------------------------------

// Run `body`; if it fails, add the pages' console logs to the error.
export async function withLogs(phones, body) {
  try {
    return await body();
  } catch (error) {
    const logs = phones.flatMap((p) => p.log.slice(-40));
    if (logs.length) error.message += "\n--- browser consoles (last lines) ---\n" + logs.join("\n");
    for (const phone of phones) {
      const state = await phone.py("[events, [[l.id, l.target, l.status, l.is_held] for l in sip.get_call_lines()]]",
        { timeoutMs: 5_000 }).catch((e) => String(e.message || e));
      error.message += `\n--- ${phone.name}: call events, lines ---\n${JSON.stringify(state)}`;
    }
    throw error;
  }
}

export async function bounded(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(what)), ms); });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function dedent(code) {
  const lines = code.replace(/^\n/, "").split("\n");
  const indents = lines.filter((l) => l.trim()).map((l) => l.match(/^ */)[0].length);
  const strip = indents.length ? Math.min(...indents) : 0;
  return lines.map((l) => l.slice(strip)).join("\n");
}
