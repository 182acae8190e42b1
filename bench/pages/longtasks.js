// Main-thread long tasks (> 50 ms), recorded from the page's first script on.
// Loaded as a classic script at the top of every bench page. Times are epoch
// milliseconds (performance.timeOrigin + startTime) so that windows measured
// in one page can be applied to another page of the same browser.
(() => {
  const tasks = [];
  window.benchLongTasks = tasks;
  window.benchNow = () => performance.timeOrigin + performance.now();
  const keep = (entries) => {
    for (const e of entries) {
      tasks.push({ start: performance.timeOrigin + e.startTime, duration: e.duration, name: e.name });
    }
  };
  let observer = null;
  try {
    observer = new PerformanceObserver((list) => keep(list.getEntries()));
    observer.observe({ type: "longtask", buffered: true });
  } catch (e) {
    window.benchLongTaskError = String(e);
  }
  // Long tasks overlapping [from, to] (epoch ms), or with startedWithin only
  // those that began inside it: their count, the longest, and each one.
  // Pending entries are flushed first (takeRecords).
  window.benchLongTasksIn = (from, to, startedWithin = false) => {
    if (observer) keep(observer.takeRecords());
    const hits = tasks.filter((t) => t.start < to && (startedWithin ? t.start >= from : t.start + t.duration > from));
    return {
      count: hits.length,
      longest_ms: hits.reduce((m, t) => Math.max(m, t.duration), 0),
      total_ms: hits.reduce((s, t) => s + t.duration, 0),
      tasks: hits.map((t) => ({ offset_ms: t.start - from, duration_ms: t.duration })),
      supported: observer !== null,
    };
  };
})();
