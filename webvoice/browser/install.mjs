/**
 * Install webvoice's wheel into a Pyodide, from JavaScript, in a few ms.
 *
 *   import { loadPyodide } from "/pyodide/pyodide.mjs";
 *   import { installWheel } from "/webvoice/install.mjs";
 *   const pyodide = await loadPyodide();
 *   await installWheel(pyodide, "/wheels/webvoice-0.1.0-py3-none-any.whl");
 *   pyodide.runPython("import webvoice");
 *
 * Why not micropip or pyodide.loadPackage: both unpack a wheel with Python's
 * zipfile, tarfile, shutil and importlib.metadata, which a fresh Pyodide has
 * not imported yet and compiles from source in WebAssembly (150-250 ms of the
 * page's start-up, ten times what unpacking webvoice takes). A wheel is a zip
 * archive: here it is read with DataView and the browser's own
 * DecompressionStream, and its files are written into site-packages through
 * Pyodide's file system. Meant for webvoice's own wheel: pure Python, no
 * dependencies to resolve (installing a wheel with dependencies is micropip's
 * job, and it still works for webvoice).
 *
 * The URL may also name the wheel's `.whl.gz` (`make assets` builds one beside
 * the wheel; index.json names it `wheel_gz`): the same files, stored rather
 * than compressed one by one, and the whole archive gzip'ed. It is smaller to
 * download, and inflating it is one stream instead of one per file (a wheel
 * has a couple of hundred). Told apart by their first bytes, so a server that
 * sends the .gz with Content-Encoding: gzip (the browser inflates it) works
 * too.
 *
 * Options: `sha256` (hex) checks the whole wheel before anything is written
 * (for a .whl.gz, the wheel inside: index.json's `wheel_gz_sha256`);
 * `sitePackages` overrides the target directory.
 */

const INFLATE_PIECE = 16384; // bytes of compressed input given to the inflater at a time
const EOCD = 0x06054b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;

export async function installWheel(pyodide, wheelUrl, { sha256, sitePackages, only } = {}) {
  return writeWheel(pyodide, await readWheel(wheelUrl, { sha256, only }), { sitePackages });
}

/**
 * The wheel's files, `[[name, bytes], ...]`, fetched, checked and unpacked:
 * the part of installWheel that needs no Pyodide, so that a page can run it
 * while Pyodide loads. `only(name)`, if given, picks the members to unpack.
 */
export async function readWheel(wheelUrl, { sha256, only } = {}) {
  let t = performance.now();
  const response = await fetch(wheelUrl);
  if (!response.ok) {
    throw new Error(`webvoice: cannot fetch ${wheelUrl}: HTTP ${response.status}`);
  }
  const fetched = new Uint8Array(await response.arrayBuffer());
  t = measure("wheel fetch", t);
  // A .whl.gz: one inflate for the whole wheel, whose files are then stored.
  const gzipped = fetched[0] === 0x1f && fetched[1] === 0x8b;
  const bytes = gzipped ? await inflate(fetched, "gzip") : fetched;
  if (gzipped) t = measure("wheel inflate", t);
  if (sha256) {
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
    const hex = Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
    if (hex !== sha256.toLowerCase()) {
      throw new Error(`webvoice: ${wheelUrl} has sha256 ${hex}, expected ${sha256}`);
    }
  }
  const entries = readCentralDirectory(bytes, wheelUrl).filter((e) => !only || only(e.name));
  const files = [];
  for (const entry of entries) {
    // One at a time: cheaper than many streams at once (measured in Chromium).
    files.push(await extract(bytes, entry, wheelUrl));
  }
  measure("wheel unpack", t);
  return files;
}

/**
 * Writes readWheel's files into site-packages (or `sitePackages`); resolves to
 * their names. In tasks of a few ms each (`budgetMs`), yielding to the page in
 * between: a wheel's hundred files would be one long task otherwise. Then the
 * import system is told of the new files (forgetListing), on either boot: a
 * fresh Pyodide's, or one restored from a snapshot whose finders remember
 * the maker's listing.
 */
export async function writeWheel(pyodide, files, { sitePackages, budgetMs = 8 } = {}) {
  let start = performance.now();
  const t = start;
  const FS = pyodide.FS;
  const target = sitePackages ?? findSitePackages(FS) ?? pyodide.runPython(
    "import sys\nnext(p for p in sys.path if p.endswith('site-packages'))");
  const made = new Set();
  for (const [name, data] of files) {
    if (performance.now() - start > budgetMs) {
      await nextTask();
      start = performance.now();
    }
    const slash = name.lastIndexOf("/");
    const dir = slash < 0 ? target : `${target}/${name.slice(0, slash)}`;
    if (!made.has(dir)) {
      FS.mkdirTree(dir);
      made.add(dir);
    }
    FS.writeFile(`${target}/${name}`, data);
  }
  forgetListing(pyodide, target);
  measure("wheel write", t);
  return files.map(([name]) => name);
}

/**
 * Lets the import system see new files in `site`: it caches directory
 * listings. Only that directory's own finder (a FileFinder; other finders may
 * have no such method): importlib's invalidate_caches() would also import
 * importlib.metadata (~60 ms) for its distribution cache. Through the FFI,
 * not Python source: compiling even a line costs Pyodide milliseconds.
 */
export function forgetListing(pyodide, site) {
  const sys = pyodide.pyimport("sys");
  const cache = sys.path_importer_cache;
  const finder = cache.get(site);
  try {
    if (typeof finder?.invalidate_caches === "function") finder.invalidate_caches();
  } finally {
    finder?.destroy?.();
    cache.destroy();
    sys.destroy();
  }
}

/**
 * Pyodide's site-packages, `/lib/python3.<minor>/site-packages`, found in its
 * file system: no Python call (each costs a compile). Undefined when the
 * layout is not that one, and Python is asked.
 */
function findSitePackages(FS) {
  try {
    const versions = FS.readdir("/lib").filter((name) => /^python3\.\d+$/.test(name));
    const site = versions.length === 1 ? `/lib/${versions[0]}/site-packages` : null;
    return site && FS.isDir(FS.stat(site).mode) ? site : undefined;
  } catch {
    return undefined;
  }
}

/** Resolves in a later task (what follows is not part of the current one). */
function nextTask() {
  if (globalThis.scheduler?.yield) return globalThis.scheduler.yield();
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/** A User Timing measure "webvoice:<stage>" from `start` to now; returns now. */
function measure(stage, start) {
  const end = performance.now();
  performance.measure?.(`webvoice:${stage}`, { start, end });
  return end;
}

/** The archive's members (files only) from its central directory. */
function readCentralDirectory(bytes, where) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let eocd = -1;
  // The end record is the last 22 bytes, plus a comment of up to 65535.
  for (let i = bytes.length - 22; i >= Math.max(0, bytes.length - 22 - 0xffff); i--) {
    if (view.getUint32(i, true) === EOCD) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error(`webvoice: ${where} is not a zip archive (a wheel)`);
  const count = view.getUint16(eocd + 10, true);
  let offset = view.getUint32(eocd + 16, true);
  if (count === 0xffff || offset === 0xffffffff) {
    throw new Error(`webvoice: ${where} is a zip64 archive, which this installer does not read`);
  }
  const decoder = new TextDecoder();
  const entries = [];
  for (let n = 0; n < count; n++) {
    if (view.getUint32(offset, true) !== CENTRAL) {
      throw new Error(`webvoice: ${where}: broken central directory at byte ${offset}`);
    }
    const method = view.getUint16(offset + 10, true);
    const compressedSize = view.getUint32(offset + 20, true);
    const size = view.getUint32(offset + 24, true);
    const nameLength = view.getUint16(offset + 28, true);
    const extraLength = view.getUint16(offset + 30, true);
    const commentLength = view.getUint16(offset + 32, true);
    const local = view.getUint32(offset + 42, true);
    const name = decoder.decode(bytes.subarray(offset + 46, offset + 46 + nameLength));
    offset += 46 + nameLength + extraLength + commentLength;
    if (name.endsWith("/")) continue;
    if (name.startsWith("/") || name.includes("\\") || name.split("/").includes("..")) {
      throw new Error(`webvoice: ${where}: refusing member path ${JSON.stringify(name)}`);
    }
    entries.push({ name, method, compressedSize, size, local });
  }
  return entries;
}

async function extract(bytes, { name, method, compressedSize, size, local }, where) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(local, true) !== LOCAL) {
    throw new Error(`webvoice: ${where}: no local header for ${name}`);
  }
  const start = local + 30 + view.getUint16(local + 26, true) + view.getUint16(local + 28, true);
  const raw = bytes.subarray(start, start + compressedSize);
  let data;
  if (method === 0) {
    data = raw;
  } else if (method === 8) {
    data = await inflate(raw, "deflate-raw");
  } else {
    throw new Error(`webvoice: ${where}: ${name} uses zip method ${method} (only stored and deflated are read)`);
  }
  if (data.length !== size) {
    throw new Error(`webvoice: ${where}: ${name} is ${data.length} bytes, its header says ${size}`);
  }
  return [name, data];
}

/** `format` data ("gzip", "deflate-raw") inflated by the browser. Writer and
 * reader used directly: a Blob/Response pipeline around the stream costs
 * several times more. The stream inflates what it is given in the task that
 * gives it: a large input (the .whl.gz) goes in by pieces, with a yield to the
 * page whenever a task has run `budgetMs`, so that no task is long. */
async function inflate(raw, format, budgetMs = 8) {
  const stream = new DecompressionStream(format);
  const writer = stream.writable.getWriter();
  const writing = (async () => {
    let start = performance.now();
    for (let at = 0; at < raw.length; at += INFLATE_PIECE) {
      if (performance.now() - start > budgetMs) {
        await nextTask();
        start = performance.now();
      }
      await writer.write(raw.subarray(at, at + INFLATE_PIECE));
    }
    await writer.close();
  })();
  writing.catch(() => {}); // a bad input fails the reads below too: reported there
  const reader = stream.readable.getReader();
  const chunks = [];
  let length = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    length += value.length;
  }
  await writing;
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(length);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}
