// The demo softphone without PyScript, from Pyodide's memory snapshot:
// index.html?boot=fast loads this instead of letting PyScript run softphone.py.
//
// Why not through PyScript: PyScript 0.7.31 calls loadPyodide() with options
// of its own (indexURL, packages, stdout/stderr) and has no config key that
// reaches loadPyodide's snapshot options, so a PyScript page always boots
// Pyodide from scratch. Here webvoice's boot helper (/webvoice/boot.mjs)
// restores the snapshot (or boots normally if it does not fit, and says why),
// the page's other Python files named in pyscript.json are written into the
// file system, and softphone.py runs with the two names it takes from
// `pyscript` (document, when) provided by a small module of the same name.
import { bootWebvoice } from "/webvoice/boot.mjs";

// What softphone.py uses of PyScript: `document` and the `@when(event,
// selector)` decorator (handlers with or without the event; coroutines run
// as tasks).
const PYSCRIPT_SHIM = `"""The part of PyScript's API the demo uses, for the fast boot (demo/fast-boot.mjs)."""
import asyncio
import js
from pyodide.ffi import create_proxy

document = js.document
window = js.window
_handlers = []


def when(event_type, selector):
    def decorate(func):
        wants_event = func.__code__.co_argcount > 0

        def handler(event):
            result = func(event) if wants_event else func()
            if asyncio.iscoroutine(result):
                asyncio.ensure_future(result)

        proxy = create_proxy(handler)
        _handlers.append(proxy)
        for element in document.querySelectorAll(selector):
            element.addEventListener(event_type, proxy)
        return func

    return decorate
`;

export async function bootSoftphone(script) {
  const t0 = performance.now();
  const configURL = script.getAttribute("config") || "/pyscript.json";
  const [config, index] = await Promise.all([
    fetch(configURL).then((r) => r.json()),
    fetch("/wheels/index.json").then((r) => r.json()),
  ]);
  const booted = await bootWebvoice({
    indexURL: "/pyodide/",
    wheelURL: `/wheels/${index.wheel_gz}`,
    wheelSha256: index.wheel_gz_sha256,
    snapshotURL: "/snapshot/webvoice.snapshot.gz",
  });
  const { pyodide } = booted;
  document.body.dataset.boot = booted.path;
  if (booted.reason) document.body.dataset.bootReason = booted.reason;
  const home = pyodide.runPython("import os\nos.getcwd()");
  pyodide.FS.writeFile(`${home}/pyscript.py`, PYSCRIPT_SHIM);
  await Promise.all(Object.entries(config.files ?? {}).map(async ([url, path]) => {
    const text = await (await fetch(url)).text();
    pyodide.FS.writeFile(path.startsWith("/") ? path : `${home}/${path.replace(/^\.\//, "")}`, text);
  }));
  pyodide.runPython(`import sys\nif ${JSON.stringify(home)} not in sys.path: sys.path.insert(0, ${JSON.stringify(home)})`);
  const source = await (await fetch(script.getAttribute("src"))).text();
  console.info(`softphone: Python ready in ${(performance.now() - t0).toFixed(0)} ms (${booted.path} boot)`);
  window.pyodide = pyodide;
  await pyodide.runPythonAsync(source, { filename: script.getAttribute("src") });
}
