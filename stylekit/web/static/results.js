// stylekit web UI: the result cards (progress, previews, compare, remove) and the session kept in the browser,
// with the socket that brings job updates. Loaded before app.js, whose state and helpers it uses when called.

// ---- result cards --------------------------------------------------------------------------------------------
function describeState(job) {
  if (job.state === "queued") return job.position ? `waiting, #${job.position} in line` : "waiting";
  if (job.state === "running") return job.progress.stage || "running";
  if (job.state === "cancelled") return job.has_result ? "stopped, best so far kept" : "cancelled";
  if (job.state === "failed") return "failed";
  return job.interrupted ? "stopped early" : "done";
}

function describeJob(job) {
  const i = job.inputs || {};
  const parts = [];
  if (i.content) parts.push(i.content.name);
  if (i.styles && i.styles.length) parts.push(`in the style of ${i.styles.map((s) => s.name).join(" + ")}`);
  const chosen = (i.settings || []).find(([label]) => label === "built-in style");
  if (chosen) parts.push(`in built-in style ${chosen[1]}`);
  return `${i.title || job.method}${parts.length ? ": " + parts.join(" ") : ""}`;
}

function jobCard(job) {
  const li = document.createElement("li");
  li.className = "job"; li.dataset.id = job.id;
  li.innerHTML = `<div class="head"><span class="title"></span><span class="state"></span>
    <button type="button" class="remove-job">Remove</button></div>
    <div class="inputs"></div>
    <progress class="bar" max="1"></progress><div class="info"></div>
    <div class="compare"><div class="frame"><img class="before" alt="" hidden>
      <div class="after"><img class="view" alt="" hidden></div></div>
      <input type="range" class="split" min="0" max="100" value="50" hidden></div>
    <div class="error" role="alert"></div><div class="warning"></div>
    <div class="buttons"><button type="button" class="cancel">Cancel</button>
    <button type="button" class="instead" hidden>Try Good instead</button>
    <button type="button" class="full" hidden>View full size</button>
    <a class="download" hidden>Download</a></div>`;
  const title = describeJob(job);
  li.querySelector(".title").textContent = job.inputs.card || job.inputs.title || job.method;
  li.setAttribute("aria-label", title);
  li.querySelector(".bar").setAttribute("aria-label", `progress of ${title}`);
  const inputs = li.querySelector(".inputs");
  const images = [...(job.inputs.content ? [["photo", job.inputs.content]] : []),
                  ...(job.inputs.styles || []).map((s) => ["style", s])];
  for (const [role, image] of images) {
    const img = document.createElement("img");
    img.src = imageUrl(image, 256); img.alt = `${role}: ${image.name}`; img.title = `${role}: ${image.name}`;
    inputs.append(img);
  }
  const settings = document.createElement("span");
  settings.className = "settings";
  settings.textContent = (job.inputs.settings || []).map(([k, v]) => `${k} ${v}`).join(" · ");
  inputs.append(settings);
  const before = li.querySelector(".before"), split = li.querySelector(".split");
  if (job.inputs.content && method(job.method)?.repaints) {
    before.src = imageUrl(job.inputs.content, 1024); before.alt = `before: ${job.inputs.content.name}`;
    split.setAttribute("aria-label", "before and after: move to compare");
  }
  split.oninput = () => li.querySelector(".after").style.clipPath = `inset(0 0 0 ${split.value}%)`;
  li.querySelector(".after").style.clipPath = "inset(0 0 0 50%)";
  li.querySelector(".cancel").onclick = () => api(q(`/api/jobs/${job.id}/cancel`), { method: "POST" }).catch(showError);
  li.querySelector(".remove-job").setAttribute("aria-label", `remove ${title}`);
  li.querySelector(".remove-job").onclick = () => removeJob(job.id);
  li.querySelector(".full").onclick = () => openViewer(job.id, title);
  li.querySelector(".instead").onclick = () => tryGood(job);
  $("#jobs").prepend(li);
  return li;
}

// A Quick job that failed: the same photo and paintings as a Good one (an optimisation needs no trained model).
async function tryGood(job) {
  clearErrors();
  const body = { session: state.session, method: "transfer", content: job.inputs.content.id,
                 styles: job.inputs.styles.map((s) => s.id),
                 options: { quality: QUALITY.good, size: $("#size-slider").value } };
  try { showJob(await post("/api/jobs", body)); } catch (error) { showError(error); }
}

const UNDO_SECONDS = 6;  // a removed card can be brought back this long before the server forgets it

async function forgetJob(id) {
  state.removed.add(id);
  const known = state.jobs.get(id);
  if (known) { known.li.remove(); state.jobs.delete(id); }
  updateResultsHead();
  try { await api(q(`/api/jobs/${id}/remove`), { method: "POST" }); } catch (error) { /* already gone */ }
}

// Remove hides the card at once and offers Undo for a few seconds; only then is the job forgotten.
function removeJob(id, undoable = true) {
  const known = state.jobs.get(id);
  if (!known || !undoable) { forgetJob(id); return; }
  known.li.hidden = true;
  state.removed.add(id);
  let undone = false;
  const timer = setTimeout(() => { if (!undone) forgetJob(id); }, UNDO_SECONDS * 1000);
  toast(`Removed “${known.job.inputs.title}”.`, "info", {
    label: "Undo", seconds: UNDO_SECONDS,
    act: () => { undone = true; clearTimeout(timer); known.li.hidden = false; state.removed.delete(id); },
  });
}

// Remove all: every card, with one Undo; a picture still being made is only removed after a confirmation.
function removeAll() {
  const ids = [...state.jobs.keys()].filter((id) => !state.jobs.get(id).li.hidden);
  const busy = ids.some((id) => ["queued", "running"].includes(state.jobs.get(id).job.state));
  if (busy && !window.confirm("A picture is still being made. Remove it too, with all the others?")) return;
  const cards = ids.map((id) => state.jobs.get(id));
  for (const { li } of cards) li.hidden = true;
  for (const id of ids) state.removed.add(id);
  let undone = false;
  const timer = setTimeout(() => { if (!undone) ids.forEach(forgetJob); }, UNDO_SECONDS * 1000);
  toast(`Removed ${ids.length} picture${ids.length === 1 ? "" : "s"}.`, "info", {
    label: "Undo", seconds: UNDO_SECONDS,
    act: () => { undone = true; clearTimeout(timer); for (const id of ids) state.removed.delete(id); for (const { li } of cards) li.hidden = false; },
  });
}

function showJob(job) {
  const known = state.jobs.get(job.id);
  if (known && known.job.version > job.version) return known.li;  // an older snapshot than the one shown
  const li = known ? known.li : jobCard(job);
  const seen = known ? known.job : null;
  state.jobs.set(job.id, { li, job, at: performance.now() });
  li.className = `job ${job.state}`;
  li.setAttribute("aria-busy", String(job.state === "queued" || job.state === "running"));
  li.querySelector(".state").textContent = describeState(job);
  if (seen && seen.state !== job.state && ["done", "failed", "cancelled"].includes(job.state)) {
    announce(`${describeJob(job)}: ${describeState(job)}${job.error ? ". " + job.error : ""}`);
    // a finished picture out of view (a phone) is brought in
    if (outOfView(li.querySelector(".head"))) li.scrollIntoView({ block: "start" });
  }
  drawProgress(li, job, 0);
  li.querySelector(".error").textContent = job.error || "";
  li.querySelector(".warning").textContent = (job.warnings || []).join(" ");
  const view = li.querySelector(".view"), before = li.querySelector(".before"), split = li.querySelector(".split");
  const hasBefore = Boolean(before.getAttribute("src"));
  if (job.has_result && !(seen && seen.has_result && view.dataset.result)) {
    view.src = q(`/api/jobs/${job.id}/result.png`); view.dataset.result = "1";
    view.alt = `result: ${describeJob(job)}`; view.hidden = false;
    const link = li.querySelector(".download");
    link.href = q(`/api/jobs/${job.id}/result.png`);  // the server names the file; an expired one explains itself
    link.hidden = false;
    link.setAttribute("aria-label", `download ${describeJob(job)} at full resolution`);
    li.querySelector(".full").hidden = false;
  } else if (!job.has_result && job.preview_version && (!seen || seen.preview_version !== job.preview_version)) {
    view.src = `${q(`/api/jobs/${job.id}/preview.jpg`)}&v=${job.preview_version}`; view.hidden = false;
    view.alt = `current image of ${describeJob(job)}`;
  }
  const showing = !view.hidden;
  before.hidden = !(hasBefore && showing); split.hidden = before.hidden;
  li.querySelector(".compare").classList.toggle("comparing", !before.hidden);
  if (before.hidden) li.querySelector(".after").style.clipPath = "";
  else li.querySelector(".after").style.clipPath = `inset(0 0 0 ${split.value}%)`;
  li.querySelector(".cancel").hidden = !(job.state === "queued" || job.state === "running");
  li.querySelector(".instead").hidden = !(job.state === "failed" && job.method === "fast" && job.inputs.content
                                          && (job.inputs.styles || []).length);
  updateResultsHead();
  return li;
}

// Steps where the method counts them; else, for a running job, time against its estimate.
function drawProgress(li, job, extra) {
  const bar = li.querySelector(".bar"), p = job.progress || {};
  const running = job.state === "running", elapsed = job.elapsed + (running ? extra : 0);
  bar.hidden = !(running || job.state === "queued" || (p.total && job.state !== "failed"));
  if (job.state === "done") { bar.max = 1; bar.value = 1; }
  else if (p.total) { bar.max = p.total; bar.value = p.step; }
  else if (running && job.estimate > 2) { bar.max = 1; bar.value = Math.min(0.95, elapsed / job.estimate); }
  else bar.removeAttribute("value");
  const info = [];
  if (p.total && job.state === "done" && p.step < p.total) info.push(`finished early at step ${p.step} of ${p.total}`);
  else if (p.total) info.push(`step ${p.step} of ${p.total}`);
  if (p.scales > 1) info.push(`pass ${p.scale} of ${p.scales}, at ${String(p.size).replace("x", "×")} px`);
  if (running || job.elapsed) info.push(`${elapsed.toFixed(running ? 0 : 1)} s`);
  if (running && job.estimate) info.push(`expected ${Math.round(job.estimate)} s`);
  if (job.state === "queued" && job.estimate) info.push(`will take about ${Math.round(job.estimate)} s`);
  if (job.size) info.push(`${job.size[0]}×${job.size[1]}`);
  if (job.has_result && job.finished) {
    info.push(`made ${shortDate(job.finished)}, kept until ${shortDate(job.finished + state.config.keep_days * 86400)}`);
  }
  li.querySelector(".info").textContent = info.join(" · ");
}

function tick() {
  const now = performance.now();
  for (const { li, job, at } of state.jobs.values()) {
    if (job.state === "running") drawProgress(li, job, (now - at) / 1000);
  }
}

// How long this server keeps things, in words (results for days, pictures without a result for minutes).
function keptFor() {
  const c = state.config;
  return `results are kept ${c.keep_days} days, pictures without a result ${c.keep_minutes} minutes after the `
    + "page closes";
}

function updateResultsHead() {
  const c = state.config;
  $("#clear").hidden = state.jobs.size === 0;
  $("#results-note").textContent = (state.jobs.size ? "" : "Your pictures appear here. ")
    + `Each result is kept on this server for ${c.keep_days} days, even after you close this page or the server `
    + `restarts: your last ${c.keep_results}, and when the server runs out of space the oldest results go first.`;
}

function shortDate(seconds) {
  return new Date(seconds * 1000).toLocaleString(undefined, { day: "numeric", month: "short", hour: "2-digit",
                                                              minute: "2-digit" });
}

// Full size: the picture fitted to the window, or at 100% (pixel for pixel), dragged to pan.
function openViewer(id, title) {
  const image = $("#viewer-image");
  image.src = q(`/api/jobs/${id}/result.png`);
  image.alt = `full size: ${title}`;
  $("#viewer-title").textContent = title;
  setZoom(true);
  $("#viewer").showModal();
}
function setZoom(fit) {
  $("#viewer-image").classList.toggle("fit", fit);
  $("#viewer-zoom").textContent = fit ? "100%" : "Fit to window";
  $("#viewer-zoom").setAttribute("aria-label", fit ? "show at 100%, pixel for pixel" : "fit the picture to the window");
}
function wireViewer() {
  const body = $(".viewer-body"), image = $("#viewer-image");
  $("#viewer-zoom").onclick = () => setZoom(!image.classList.contains("fit"));
  image.ondblclick = () => setZoom(!image.classList.contains("fit"));
  let drag = null;
  body.onpointerdown = (e) => { drag = { x: e.clientX, y: e.clientY, left: body.scrollLeft, top: body.scrollTop }; body.setPointerCapture(e.pointerId); };
  body.onpointermove = (e) => { if (drag) { body.scrollLeft = drag.left - (e.clientX - drag.x); body.scrollTop = drag.top - (e.clientY - drag.y); } };
  body.onpointerup = body.onpointercancel = () => { drag = null; };
}

function showQueue(queue) {
  const o = queue.optimise, f = queue.quick;
  const busy = o.running + o.waiting + f.running + f.waiting;
  $("#queue-status").textContent = busy ? `server: ${o.running + f.running} running, ${o.waiting + f.waiting} waiting` : "";
}

// ---- the session: kept in the browser, found again after a reload; the socket reconnects by itself ----------------
function save() {
  if (!state.session) return;
  localStorage.setItem(STORE, JSON.stringify({
    session: state.session, content: state.content, styles: state.styles, method: state.method,
    values: state.values,
  }));
}

function restore(saved, known) {
  const has = (image) => image && (known.has(image.id));
  if (saved.values && typeof saved.values === "object") state.values = saved.values;
  if (saved.method && method(saved.method)) state.method = saved.method;
  if (has(saved.content)) setContent(known.get(saved.content.id));
  state.styles = (saved.styles || []).filter(has).map((s) => known.get(s.id));
}

// The session expired while the page was away: one new session (however many callers notice at once), the
// gallery's picks kept, uploads gone; retried with backoff while the server cannot make one.
function renew() {
  if (!state.renewing) {
    state.renewing = (async () => {
      for (let wait = 1000; ; wait = Math.min(wait * 2, 16000)) {
        try { state.session = (await post("/api/session", {})).session; break; }
        catch (error) { $("#connection").textContent = "cannot reach the server, retrying…"; await sleep(wait); }
      }
      if (state.content && !state.content.kind.match(/photo|painting/)) {
        state.content = null; $("#content-preview").hidden = true;
        $("#content-name").textContent = "Pick an example, upload a photo, drop one anywhere on the page or paste it.";
      }
      state.styles = state.styles.filter((s) => s.kind !== "upload");
      renderStyles();
      toast(`Your earlier session has expired (${keptFor()}): upload your own pictures again.`, "info");
      listen();
    })().finally(() => { state.renewing = null; });
  }
  return state.renewing;
}

function sleep(ms) { return new Promise((resolve) => setTimeout(resolve, ms)); }

function listen() {
  if (state.socket) { state.socket.onclose = null; state.socket.close(); }
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}/api/session/${state.session}/ws`);
  state.socket = socket;
  socket.onopen = () => {
    state.retry = 0; $("#connection").textContent = "";
    const ping = setInterval(() => { if (socket.readyState === 1) socket.send("ping"); else clearInterval(ping); }, 30000);
  };
  socket.onmessage = (event) => {
    const message = JSON.parse(event.data);
    const live = new Set(message.jobs.map((job) => job.id));
    const version = Math.max(0, ...message.jobs.map((job) => job.version));
    for (const job of message.jobs) if (!state.removed.has(job.id) && !job.inputs?.preview) showJob(job);
    for (const [id, known] of state.jobs) {  // gone from the server (expired), unless newer than this message
      if (!live.has(id) && known.job.version < version) { known.li.remove(); state.jobs.delete(id); }
    }
    updateResultsHead();
    showQueue(message.queue);
  };
  socket.onclose = (event) => {
    if (state.socket !== socket) return;
    if (event.code === 4404) { renew(); return; }
    state.retry = Math.min(state.retry + 1, 5);
    $("#connection").textContent = event.code === 4429 ? `${event.reason}; retrying…` : "connection lost, reconnecting…";
    setTimeout(listen, 500 * 2 ** state.retry);
  };
}
