// A module worker running webvoice in Pyodide, as a PyScript worker or a
// JupyterLite kernel would: no DOM, no RTCPeerConnection, WebSocket and
// BroadcastChannel only. Boots at once, posts {booted, timings}, then runs
// {id, code} messages with runPythonAsync and answers {id, ok} / {id, error}.
import { loadPyodide } from "/pyodide/pyodide.mjs";

async function boot() {
  const timings = {};
  let t0 = performance.now();
  const mark = (stage) => { const now = performance.now(); timings[stage] = now - t0; t0 = now; };
  const pyodide = await loadPyodide({ indexURL: "/pyodide/" });
  mark("load_pyodide_ms");
  await pyodide.loadPackage("micropip");
  const index = await (await fetch("/wheels/index.json")).json();
  await pyodide.pyimport("micropip").install(new URL(`/wheels/${index.wheel}`, location.href).href);
  mark("install_webvoice_ms");
  pyodide.runPython("import webvoice");
  return { pyodide, timings };
}

const ready = boot();
ready.then(({ timings }) => self.postMessage({ booted: true, timings }),
  (error) => self.postMessage({ booted: false, error: String(error && error.stack || error) }));

self.onmessage = async ({ data: { id, code } }) => {
  try {
    const { pyodide } = await ready;
    const value = await pyodide.runPythonAsync(code);
    self.postMessage({ id, ok: value === undefined ? null : String(value) });
    if (value && value.destroy) value.destroy();
  } catch (error) {
    self.postMessage({ id, error: String(error && error.message || error) });
  }
};
