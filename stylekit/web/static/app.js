// stylekit web UI: a thin page over the server's JSON API. No build step, no dependencies.
"use strict";

const $ = (sel) => document.querySelector(sel);
const state = { config: null, session: null, content: null, styles: [], builtin: null, jobs: new Map() };

function say(text) { $("#message").textContent = text || ""; }

async function api(path, options = {}) {
  const response = await fetch(path, options);
  let body = null;
  try { body = await response.json(); } catch (e) { body = null; }
  if (!response.ok) throw new Error((body && body.error) || `${response.status} ${response.statusText}`);
  return body;
}

function q(path) { return `${path}?session=${encodeURIComponent(state.session)}`; }

// ---- images -----------------------------------------------------------------------------------------
async function upload(file) {
  const limit = state.config.limits.max_upload_mb * 1024 * 1024;
  if (file.size > limit) {
    throw new Error(`${file.name} is larger than this server's upload limit of ${state.config.limits.max_upload_mb} MB`);
  }
  const info = await api(`${q("/api/images")}&name=${encodeURIComponent(file.name)}`,
                         { method: "POST", body: file, headers: { "Content-Type": "application/octet-stream" } });
  info.url = URL.createObjectURL(file);
  return info;
}

function setContent(image) {
  state.content = image;
  const img = $("#content-preview");
  img.src = image.url; img.hidden = false; img.alt = image.name;
  $("#content-name").textContent = `${image.name} — ${image.width}×${image.height}`;
}

function renderStyles() {
  const list = $("#style-list");
  list.replaceChildren();
  state.styles.forEach((image, index) => {
    const li = document.createElement("li");
    const img = document.createElement("img");
    img.src = image.url; img.alt = image.name; img.title = `${image.name} — ${image.width}×${image.height}`;
    const remove = document.createElement("button");
    remove.type = "button"; remove.className = "remove"; remove.textContent = "×";
    remove.setAttribute("aria-label", `remove ${image.name}`);
    remove.onclick = () => { state.styles.splice(index, 1); renderStyles(); };
    li.append(img, remove);
    list.append(li);
  });
  if (state.styles.length) pickBuiltin(null);
  $("#style-hint").textContent = state.styles.length
    ? `${state.styles.length} style image${state.styles.length > 1 ? "s" : ""}`
    : state.builtin !== null ? `Built-in style ${state.builtin} (fast method)`
    : "Drop one or more paintings here or choose them.";
}

// A built-in style of the 26-style network replaces the style images and selects the fast method.
function pickBuiltin(index) {
  state.builtin = index;
  for (const button of document.querySelectorAll("#builtin button")) {
    button.setAttribute("aria-pressed", String(Number(button.dataset.index) === index));
  }
  if (index === null) return;
  state.styles = [];
  if ($("#method").value !== "fast") { $("#method").value = "fast"; renderOptions(); }
  const field = $("#opt-builtin");
  if (field) field.value = String(index);
  renderStyles();
}

function renderBuiltin() {
  const list = $("#builtin");
  for (let i = 0; i < state.config.builtin_styles; i++) {
    const li = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button"; button.dataset.index = i; button.setAttribute("aria-pressed", "false");
    button.setAttribute("aria-label", `built-in style ${i}`); button.title = `built-in style ${i}`;
    const img = document.createElement("img");
    img.src = `/api/builtin/${i}.jpg`; img.alt = ""; img.loading = "lazy";
    const number = document.createElement("span");
    number.textContent = i;
    button.append(img, number);
    button.onclick = () => pickBuiltin(i);
    li.append(button);
    list.append(li);
  }
}

async function addFiles(files, role) {
  say("");
  for (const file of files) {
    try {
      const image = await upload(file);
      if (role === "content") setContent(image); else { state.styles.push(image); renderStyles(); }
    } catch (error) { say(error.message); }
  }
}

function wireDrop(box, role) {
  box.addEventListener("dragover", (e) => { e.preventDefault(); box.classList.add("over"); });
  box.addEventListener("dragleave", () => box.classList.remove("over"));
  box.addEventListener("drop", (e) => {
    e.preventDefault(); box.classList.remove("over");
    const files = [...e.dataTransfer.files];
    addFiles(role === "content" ? files.slice(0, 1) : files, role);
  });
}

function renderExamples() {
  const list = $("#examples");
  for (const example of state.config.examples) {
    example.url = `/api/examples/${example.id}.jpg`;
    const li = document.createElement("li");
    li.className = "example";
    const img = document.createElement("img");
    img.src = example.url; img.alt = example.name;
    const name = document.createElement("p");
    name.className = "name"; name.textContent = example.name;
    const asContent = document.createElement("button");
    asContent.type = "button"; asContent.textContent = "content"; asContent.dataset.use = "content";
    asContent.onclick = () => setContent(example);
    const asStyle = document.createElement("button");
    asStyle.type = "button"; asStyle.textContent = "style"; asStyle.dataset.use = "style";
    asStyle.onclick = () => { state.styles.push(example); renderStyles(); };
    li.append(img, name, asContent, " ", asStyle);
    list.append(li);
  }
}

// ---- method and options -----------------------------------------------------------------------------
function method() { return state.config.methods.find((m) => m.name === $("#method").value); }

function renderOptions() {
  const m = method();
  const form = $("#options");
  form.replaceChildren();
  for (const field of m.fields) {
    const id = `opt-${field.name}`;
    const label = document.createElement("label");
    label.htmlFor = id; label.textContent = field.label; label.title = field.help;
    let input;
    if (field.choices.length) {
      input = document.createElement("select");
      for (const choice of field.choices) input.append(new Option(choice, choice, false, choice === field.default));
    } else {
      input = document.createElement("input");
      if (field.kind === "bool") { input.type = "checkbox"; input.checked = Boolean(field.default); }
      else {
        input.type = (field.kind === "int" || field.kind === "float") ? "number" : "text";
        if (field.kind === "float") input.step = "any";
        if (input.type === "number" && field.min !== null) input.min = field.min;
        if (input.type === "number" && field.max !== null) input.max = field.max;
        input.value = field.default ?? "";
        input.placeholder = field.optional ? "(empty)" : "";
      }
    }
    input.id = id; input.name = field.name; input.title = field.help;
    form.append(label, input);
  }
  const needs = [];
  if (m.needs_content) needs.push("a content image");
  if (m.styles === "many") needs.push("one or more style images");
  if (m.styles === "one") needs.push("one style image (the texture source)");
  $("#method-note").textContent = `Uses ${needs.join(" and ")}.`;
  if (m.name === "fast" && state.builtin !== null) $("#opt-builtin").value = String(state.builtin);
  $("#content-box").style.opacity = m.needs_content ? 1 : 0.45;
  $("#style-box").style.opacity = m.styles === "none" ? 0.45 : 1;
}

function formValues() {
  const values = {};
  for (const input of $("#options").elements) {
    values[input.name] = input.type === "checkbox" ? input.checked : input.value;
  }
  return values;
}

async function go() {
  say("");
  const m = method();
  if (m.needs_content && !state.content) { say(`${m.title} needs a content image: choose one.`); return; }
  const values = formValues();
  const builtin = m.name === "fast" && String(values.builtin || "").trim() !== "";
  if (m.styles !== "none" && !state.styles.length && !builtin) {
    say(`${m.title} needs a style image: add one${m.name === "fast" ? ", or pick a built-in style" : ""}.`); return;
  }
  const body = {
    session: state.session, method: m.name, options: values,
    content: m.needs_content ? state.content.id : null,
    styles: m.styles === "none" || builtin ? [] : state.styles.map((s) => s.id),
  };
  try {
    const job = await api("/api/jobs", { method: "POST", body: JSON.stringify(body),
                                         headers: { "Content-Type": "application/json" } });
    showJob(job);
  } catch (error) { say(error.message); }
}

// ---- jobs ---------------------------------------------------------------------------------------------
function describeState(job) {
  if (job.state === "queued") return job.position ? `queued, #${job.position} in line` : "queued";
  if (job.state === "running") return "running";
  if (job.state === "cancelled") return job.has_result ? "cancelled, best so far kept" : "cancelled";
  return job.state;
}

function jobCard(job) {
  const li = document.createElement("li");
  li.className = "job"; li.dataset.id = job.id;
  li.innerHTML = `<div class="head"><span class="title"></span><span class="state"></span></div>
    <progress class="bar" max="1" value="0"></progress><div class="info"></div>
    <img class="view" alt="" hidden><div class="error"></div><div class="warning"></div>
    <div class="buttons"><button type="button" class="cancel">Cancel</button>
    <a class="download" hidden>Download full resolution</a></div>`;
  li.querySelector(".title").textContent = state.config.methods.find((m) => m.name === job.method).title;
  li.querySelector(".cancel").onclick = () => api(q(`/api/jobs/${job.id}/cancel`), { method: "POST" })
    .catch((error) => say(error.message));
  $("#jobs").prepend(li);
  return li;
}

function showJob(job) {
  const known = state.jobs.get(job.id);
  const li = known ? known.li : jobCard(job);
  const seen = known ? known.job : null;
  state.jobs.set(job.id, { li, job });
  li.className = `job ${job.state}`;
  li.querySelector(".state").textContent = describeState(job);
  const bar = li.querySelector(".bar");
  const p = job.progress || {};
  if (p.total) { bar.max = p.total; bar.value = p.step; }
  else if (job.state === "done" || job.state === "cancelled") { bar.max = 1; bar.value = 1; }
  else if (job.state === "running") bar.removeAttribute("value");
  const info = [];
  if (p.total) info.push(`step ${p.step} of ${p.total}`);
  if (p.scales > 1) info.push(`scale ${p.scale}/${p.scales} (${p.size})`);
  if (p.loss !== undefined) info.push(`loss ${Number(p.loss).toPrecision(4)}`);
  if (job.elapsed) info.push(`${job.elapsed.toFixed(1)} s`);
  if (job.size) info.push(`${job.size[0]}×${job.size[1]}`);
  li.querySelector(".info").textContent = info.join(" · ");
  li.querySelector(".error").textContent = job.error || "";
  li.querySelector(".warning").textContent = (job.warnings || []).join(" ");
  const view = li.querySelector(".view");
  if (job.has_result && !(seen && seen.has_result)) {
    view.src = q(`/api/jobs/${job.id}/result.png`); view.hidden = false; view.alt = "result";
    const link = li.querySelector(".download");
    link.href = q(`/api/jobs/${job.id}/result.png`);
    link.download = `stylekit-${job.method}-${job.id.slice(0, 8)}.png`;
    link.hidden = false;
  } else if (!job.has_result && job.preview_version && (!seen || seen.preview_version !== job.preview_version)) {
    view.src = `${q(`/api/jobs/${job.id}/preview.jpg`)}&v=${job.preview_version}`; view.hidden = false;
    view.alt = "current image";
  }
  li.querySelector(".cancel").disabled = !(job.state === "queued" || job.state === "running");
}

function showQueue(queue) {
  const o = queue.optimise, f = queue.quick;
  $("#queue-status").textContent =
    `optimisations: ${o.running} running, ${o.waiting} waiting · quick jobs: ${f.running} running, ${f.waiting} waiting`;
}

function listen() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}/api/session/${state.session}/ws`);
  socket.onmessage = (event) => {
    const message = JSON.parse(event.data);
    for (const job of message.jobs) showJob(job);
    showQueue(message.queue);
  };
  socket.onclose = () => say("Lost the connection to the server: reload the page.");
  setInterval(() => { if (socket.readyState === WebSocket.OPEN) socket.send("ping"); }, 20000);
}

async function start() {
  try {
    state.config = await api("/api/config");
    state.session = (await api("/api/session", { method: "POST" })).session;
  } catch (error) { say(`Cannot reach the server: ${error.message}`); return; }
  for (const m of state.config.methods) $("#method").append(new Option(m.title, m.name));
  $("#method").onchange = renderOptions;
  $("#reset").onclick = renderOptions;
  $("#go").onclick = go;
  $("#content-input").onchange = (e) => { addFiles([...e.target.files].slice(0, 1), "content"); e.target.value = ""; };
  $("#style-input").onchange = (e) => { addFiles([...e.target.files], "style"); e.target.value = ""; };
  wireDrop($("#content-box"), "content");
  wireDrop($("#style-box"), "style");
  renderExamples();
  renderBuiltin();
  renderOptions();
  showQueue(state.config.queue);
  listen();
  document.body.dataset.ready = "1";
}

start();
