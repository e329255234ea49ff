// stylekit web UI: a thin page over the server's JSON API. No build step, no dependencies.
"use strict";

const $ = (sel) => document.querySelector(sel);
const QUALITY = { quick: null, good: "draft", best: "high" };  // the transfer quality each choice runs at
const SIZE_FIELDS = ["size", "content_size"];  // one size, whichever field the method calls it
const STORE = "stylekit.page";
const state = {
  config: null, session: null, socket: null, retry: 0,
  content: null, styles: [], method: "fast", quality: "quick",
  values: {}, images: new Map(), jobs: new Map(), removed: new Set(), submitting: false, renewing: null,
};

// ---- talking to the server -------------------------------------------------------------------------------
class ApiError extends Error {
  constructor(message, status, field) { super(message); this.status = status; this.field = field; }
}

async function api(path, options = {}) {
  let response;
  try { response = await fetch(path, options); }
  catch (e) { throw new ApiError("cannot reach the stylekit server: check that it is still running", 0); }
  let body = null;
  try { body = await response.json(); } catch (e) { body = null; }
  if (!response.ok) {
    throw new ApiError((body && body.error) || `the server answered ${response.status} ${response.statusText}`,
                       response.status, body && body.field);
  }
  return body;
}

function q(path) { return `${path}${path.includes("?") ? "&" : "?"}session=${encodeURIComponent(state.session)}`; }
function post(path, body) {
  return api(path, { method: "POST", body: JSON.stringify(body || {}), headers: { "Content-Type": "application/json" } });
}
function imageUrl(image, side) { return q(`/api/images/${image.id}.jpg${side ? `?side=${side}` : ""}`); }

// ---- messages: next to their cause and as a toast, always in view, always announced ---------------------------
// A message at the bottom of the window; ``action`` adds a button (Undo) that also closes it.
function toast(text, kind = "error", action = null) {
  const box = document.createElement("div");
  box.className = `toast ${kind}`;
  box.setAttribute("role", kind === "error" ? "alert" : "status");
  const words = document.createElement("span");
  words.textContent = text;
  box.append(words);
  if (action) {
    const act = document.createElement("button");
    act.type = "button"; act.className = "toast-action"; act.textContent = action.label;
    act.onclick = () => { action.act(); box.remove(); };
    box.append(act);
  }
  const close = document.createElement("button");
  close.type = "button"; close.textContent = "×"; close.setAttribute("aria-label", "dismiss message");
  close.onclick = () => box.remove();
  box.append(close);
  $("#toasts").append(box);
  const seconds = action ? action.seconds : kind === "error" ? 12 : 6;
  setTimeout(() => box.remove(), seconds * 1000);
}

// Whether ``el`` lies outside the scrolling page's view (``wholly``: all of it, else any of it).
function outOfView(el, wholly = false) {
  const r = el.getBoundingClientRect(), view = $("main").getBoundingClientRect();
  return wholly ? r.top > view.bottom || r.bottom < view.top : r.top < view.top || r.bottom > view.bottom;
}

function announce(text) { $("#announce").textContent = text; }

function clearFieldErrors() {
  for (const el of document.querySelectorAll("#options [aria-invalid=true]")) el.removeAttribute("aria-invalid");
  for (const el of document.querySelectorAll("#options .field-error")) el.textContent = "";
}

function clearErrors() {
  for (const slot of ["#content-error", "#style-error", "#go-error"]) $(slot).textContent = "";
  clearFieldErrors();
  for (const box of document.querySelectorAll(".toast.error")) box.remove();  // their problem is being dealt with
}

// Mark a field of the advanced form with its message; false when the form has no such field.
function markField(name, message) {
  const slot = document.getElementById(`err-${name}`);
  if (!slot) return false;
  slot.textContent = message;
  const input = document.getElementById(`opt-${name}`);
  if (input) input.setAttribute("aria-invalid", "true");
  return true;
}

// Show an error where it belongs: an image box, a field of the advanced form, or the Go area; and as a toast.
function showError(error) {
  const field = error.field, box = { content: "#content-error", style: "#style-error" }[field];
  if (box) $(box).textContent = error.message;
  else if (field && markField(field, error.message)) $("#advanced").open = true;
  else $("#go-error").textContent = error.message;
  toast(error.message);
}

// ---- images ---------------------------------------------------------------------------------------------------
function remember(image) { state.images.set(image.id, image); return image; }

async function upload(file, role) {
  const limit = state.config.limits.max_upload_mb * 1024 * 1024;
  const name = file.name || "pasted image";
  if (file.size > limit) {
    throw new ApiError(`${name} is larger than this server's upload limit of ${state.config.limits.max_upload_mb} MB: ` +
                       "choose a smaller file", 413, role);
  }
  try {
    const image = await api(q(`/api/images?name=${encodeURIComponent(name)}`),
                            { method: "POST", body: file, headers: { "Content-Type": "application/octet-stream" } });
    image.role = role;  // an uploaded painting joins Compare styles
    return remember(image);
  } catch (error) { error.field = role; throw error; }
}

async function addFiles(files, role) {
  clearErrors();
  const images = files.filter((f) => f.type === "" || f.type.startsWith("image/") || /\.[a-z]+$/i.test(f.name));
  if (!images.length) { showError(new ApiError("that is not an image file: choose a JPEG, PNG or WebP picture", 0, role)); return; }
  const box = role === "content" ? $("#content-box") : $("#style-box");
  box.classList.add("busy"); box.setAttribute("aria-busy", "true");
  try {
    for (const file of role === "content" ? images.slice(0, 1) : images) {
      try {
        let image;
        try { image = await upload(file, role); }
        catch (error) {
          if (error.status !== 403) throw error;
          await renew();  // the session ran out while the page was away: a new one takes the upload
          image = await upload(file, role);
        }
        if (role === "content") setContent(image); else addStyle(image);
      } catch (error) { showError(error); }
    }
  } finally { box.classList.remove("busy"); box.removeAttribute("aria-busy"); }
}

function setContent(image) {
  state.content = image;
  const img = $("#content-preview");
  img.src = imageUrl(image, 256); img.hidden = false; img.alt = `your photo: ${image.name}`;
  $("#content-name").textContent = `${image.name} — ${image.width}×${image.height}`;
  $("#content-error").textContent = "";
  markPicked();
  changed();
}

// The built-in style chosen (the fast method's "built-in style" field: a number, or a blend such as 3:0.5,12:0.5).
function builtin() { return String(value({ name: "builtin", kind: "mix", optional: true, default: "" })).trim(); }
function builtinIndex() { return /^\d+$/.test(builtin()) ? Number(builtin()) : null; }
// One of your trained models (stylekit train) chosen as the fast method's model: it paints its own styles.
function modelField() { return method("fast").fields.find((f) => f.name === "model"); }
function isTrained(name) { return (state.config.trained || []).some((t) => t.name === name); }
function ownModel() { const v = String(value(modelField())); return isTrained(v) ? v : null; }
function noPaintingNeeded() { return Boolean(builtin() || ownModel()); }
function dropOwnModel() { if (ownModel()) setValue("model", modelField().default, modelField().kind); }

function addStyle(image) {
  if (!state.styles.some((s) => s.id === image.id)) state.styles.push(image);
  if (noPaintingNeeded()) { setValue("builtin", "", "mix"); dropOwnModel(); renderOptions(); }
  $("#style-error").textContent = "";
  renderStyles();
}

function renderStyles() {
  const list = $("#style-list");
  list.replaceChildren();
  state.styles.forEach((image, index) => {
    const li = document.createElement("li");
    const img = document.createElement("img");
    img.src = imageUrl(image, 256); img.alt = `style: ${image.name}`; img.title = image.name;
    const remove = document.createElement("button");
    remove.type = "button"; remove.className = "remove"; remove.textContent = "×";
    remove.setAttribute("aria-label", `remove the style ${image.name}`);
    remove.onclick = () => { state.styles.splice(index, 1); renderStyles(); };
    li.append(img, remove);
    list.append(li);
  });
  $("#style-hint").textContent = state.styles.length
    ? state.styles.map((s) => s.name).join(" + ")
    : ownModel() ? `Your model ${ownModel()}${builtin() ? `, style ${builtin()}` : ""}`
    : builtin() ? `Built-in style: ${builtinNames(builtin())}` : "Pick a painting below or upload your own.";
  markPicked();
  renderMix();
  changed();
}

// ---- the live mix: a slider between the two chosen paintings (or, with one painting and Magenta, between the
// photo's own style and the painting) that redraws a small Quick result as it moves ----------------------------
const MIX_SIDE = 384;  // the redrawn preview's long side: a quick look
let mixTimer = null, mixSeq = 0, mixShown = null, mixPending = null;
function mixKind() {
  if (state.quality !== "quick" || noPaintingNeeded()) return null;
  if (state.styles.length === 2) return "blend";
  if (state.styles.length === 1 && String(value(modelField())) === "magenta") return "strength";
  return null;
}
function renderMix() {
  const mixWith = $("#mix-with");
  mixWith.hidden = state.styles.length === 0 || noPaintingNeeded();
  mixWith.setAttribute("aria-pressed", String(Boolean(state.mixing)));
  mixWith.textContent = state.mixing ? "Now pick the painting to mix in" : "Mix with another painting…";
  const kind = mixKind(), box = $("#mix");
  box.hidden = !kind;
  if (!kind) return;
  $("#mix-left").textContent = kind === "blend" ? state.styles[0].name : "your photo";
  $("#mix-right").textContent = kind === "blend" ? state.styles[1].name : state.styles[0].name;
  $("#mix-help").textContent = kind === "blend" ? "Slide towards the painting you want more of."
    : "Slide left to keep more of your photo's own look.";
  const weights = String(value(method("fast").fields.find((f) => f.name === "style_blend_weights")) || "");
  const parts = weights.split(",").map(Number);
  const t = kind === "blend" ? (parts.length === 2 && parts[0] + parts[1] > 0 ? parts[1] / (parts[0] + parts[1]) : 0.5)
    : Number(value(method("fast").fields.find((f) => f.name === "alpha")));
  $("#mix-slider").value = String(Math.round(t * 100));
}
function mixMoved() {
  const t = Number($("#mix-slider").value) / 100;
  if (mixKind() === "blend") setValue("style_blend_weights", `${(1 - t).toFixed(2)},${t.toFixed(2)}`, "floats");
  else setValue("alpha", t.toFixed(2), "float");
  changed();
  clearTimeout(mixTimer);
  mixTimer = setTimeout(redrawMix, 250);
}
async function redrawMix() {
  if (!state.content || !mixKind()) return;
  const seq = ++mixSeq, body = jobBody("quick");
  body.options.content_size = String(MIX_SIDE);
  const drop = (id) => api(q(`/api/jobs/${id}/remove`), { method: "POST" }).catch(() => {});
  if (mixPending) drop(mixPending);  // a redraw still waiting or running is not wanted any more
  let job;
  try { job = await post("/api/jobs", { ...body, preview: true }); } catch (error) { return; }
  mixPending = job.id;
  for (let i = 0; i < 400 && seq === mixSeq && !["done", "failed", "cancelled"].includes(job.state); i++) {
    await new Promise((resolve) => setTimeout(resolve, 150));
    try { job = await api(q(`/api/jobs/${job.id}`)); } catch (error) { return; }
  }
  if (mixPending === job.id) mixPending = null;
  if (seq !== mixSeq || job.state !== "done") { drop(job.id); return; }  // a later move supersedes it
  const img = $("#mix-preview");
  img.src = q(`/api/jobs/${job.id}/result.png`); img.hidden = false;
  if (mixShown) drop(mixShown);
  mixShown = job.id;
}

function markPicked() {
  for (const button of document.querySelectorAll(".gallery button, #builtin button, #trained button")) {
    const id = button.dataset.id, index = button.dataset.index;
    const picked = button.dataset.model !== undefined
      ? ownModel() === button.dataset.model && (button.dataset.rows === "1" || Number(index) === (builtin() === "" ? 0 : builtinIndex()))
      : id !== undefined
      ? (state.content && state.content.id === id && button.dataset.role === "content") ||
        (button.dataset.role === "style" && state.styles.some((s) => s.id === id))
      : !ownModel() && Number(index) === builtinIndex();
    button.setAttribute("aria-pressed", String(Boolean(picked)));
  }
}

// A built-in style of the 26-style network replaces the style images; it runs on the Quick path only.
function pickBuiltin(index) {
  dropOwnModel();
  setValue("builtin", index === null ? "" : String(index), "mix");
  if (index !== null) state.styles = [];
  if (index !== null && state.method !== "fast") setQuality("quick"); else renderOptions();
  renderStyles();
}

// One of your trained models (one style of it) replaces the style images; it runs on the Quick path only.
function pickTrained(name, index, rows) {
  const off = ownModel() === name && (rows === 1 || builtinIndex() === index);
  if (off) dropOwnModel(); else setValue("model", name, modelField().kind);
  setValue("builtin", off || rows === 1 ? "" : String(index), "mix");
  if (!off) state.styles = [];
  if (!off && state.method !== "fast") setQuality("quick"); else renderOptions();
  renderStyles();
}

function galleryButton(image, role) {
  const li = document.createElement("li");
  const button = document.createElement("button");
  button.type = "button"; button.dataset.id = image.id; button.dataset.role = role;
  button.setAttribute("aria-pressed", "false");
  button.setAttribute("aria-label", role === "content" ? `use the photo ${image.name}` : `use the painting ${image.name}`);
  button.title = image.credit ? `${image.name} (${image.credit})` : image.name;
  const img = document.createElement("img");
  img.src = imageUrl(image, 256); img.alt = ""; img.loading = "lazy";
  const name = document.createElement("span");
  name.textContent = image.name;
  button.append(img, name);
  button.onclick = () => {
    clearErrors();
    if (role === "content") setContent(image);
    else if (state.styles.some((s) => s.id === image.id)) { state.styles = state.styles.filter((s) => s.id !== image.id); renderStyles(); }
    else if (state.mixing) { state.mixing = false; addStyle(image); }  // "Mix with another painting…" asked for it
    else { state.styles = []; addStyle(image); }  // a new pick replaces the painting: changing one's mind
  };
  li.append(button);
  return li;
}

function renderGallery() {
  for (const image of state.config.examples) {
    remember(image);
    (image.kind === "painting" ? $("#paintings") : $("#photos")).append(galleryButton(image, image.kind === "painting" ? "style" : "content"));
  }
  const list = $("#builtin");
  for (const style of state.config.builtin_styles) {
    const i = style.index;
    const li = document.createElement("li");
    li.dataset.words = [style.name, ...style.colours].join(" ");
    const button = document.createElement("button");
    button.type = "button"; button.dataset.index = i; button.setAttribute("aria-pressed", "false");
    button.setAttribute("aria-label", `use the built-in style ${style.name}`);
    button.title = `${style.name} (colours: ${style.colours.join(", ")})`;
    const img = document.createElement("img");
    img.src = `/api/builtin/${i}.jpg`; img.alt = ""; img.width = 192; img.height = 144;  // shipped: at once
    const name = document.createElement("span");
    name.textContent = style.name;
    button.append(img, name);
    button.onclick = () => { clearErrors(); pickBuiltin(builtinIndex() === i && !ownModel() ? null : i); };
    li.append(button);
    list.append(li);
  }
  $("#builtin-search").oninput = searchBuiltin;
  const own = $("#trained");
  for (const model of state.config.trained || []) {
    model.styles.forEach((style, i) => {
      const li = document.createElement("li");
      const button = document.createElement("button");
      const label = model.styles.length === 1 ? model.name : `${model.name} ${i}`;
      button.type = "button"; button.dataset.model = model.name; button.dataset.index = i;
      button.dataset.rows = model.styles.length; button.setAttribute("aria-pressed", "false");
      button.setAttribute("aria-label", `use your model ${label} (${style})`); button.title = `${label}: ${style}`;
      const img = document.createElement("img");
      img.src = `/api/trained/${encodeURIComponent(model.name)}/${i}.jpg`; img.alt = ""; img.loading = "lazy";
      const name = document.createElement("span");
      name.textContent = label;
      button.append(img, name);
      button.onclick = () => { clearErrors(); pickTrained(model.name, i, model.styles.length); };
      li.append(button);
      own.append(li);
    });
  }
  $("#trained-box").hidden = !(state.config.trained || []).length;
}

// Built-in styles by colour or look: every word typed must match a word of the style's name or colours (or a
// word those stand for: "warm" is red, orange, yellow or brown).
const ALSO = { warm: ["red", "orange", "yellow", "brown", "sunset", "flames"], cool: ["blue", "teal", "green", "icy"],
  dark: ["black", "dark", "charcoal", "dusk"], light: ["white", "pale", "pastel"], pale: ["white", "pastel"],
  gold: ["yellow", "golden", "sunny"], golden: ["yellow", "sunny"], purple: ["lilac"], violet: ["purple", "lilac"],
  grey: ["charcoal"], gray: ["grey", "charcoal"], colourful: ["bright", "primary", "pop-art"],
  ink: ["ink", "pen", "charcoal"], drawing: ["sketch", "pen", "pencil"], sketch: ["pencil", "pen", "drawing"] };
const SKIP = new Set(["a", "an", "the", "and", "or", "with", "in", "of", "colour", "color", "colours", "colors",
                      "style", "styles", "looking", "like"]);  // words that say nothing of a style's look
function searchBuiltin() {
  const words = $("#builtin-search").value.toLowerCase().split(/[^a-z-]+/).filter((w) => w && !SKIP.has(w));
  let shown = 0;
  for (const li of document.querySelectorAll("#builtin li")) {
    const has = li.dataset.words.split(/[\s]+/);
    const match = words.every((w) => has.some((h) => h.startsWith(w)) || (ALSO[w] || []).some((a) => has.includes(a)));
    li.hidden = !match;
    if (match) shown++;
  }
  $("#builtin-none").hidden = shown > 0;
}
function builtinNames(spec) {
  return String(spec).split(",").map((part) => {
    const style = state.config.builtin_styles[Number(part.split(":")[0])];
    return style ? style.name : part;
  }).join(" + ");
}

// Files dropped anywhere go to the photo box (onto the style box: to the styles); pasted images too.
function wireFiles() {
  $("#content-pick").onclick = () => $("#content-input").click();
  $("#style-pick").onclick = () => $("#style-input").click();
  $("#content-input").onchange = (e) => { addFiles([...e.target.files], "content"); e.target.value = ""; };
  $("#style-input").onchange = (e) => { addFiles([...e.target.files], "style"); e.target.value = ""; };
  const target = (node) => {
    const onStyles = node && node.closest && node.closest("#style-box");
    if ($("#content-box").inert) return "style";  // the photo box is off for this method
    return onStyles && !$("#style-box").inert ? "style" : "content";
  };
  document.addEventListener("dragover", (e) => {
    e.preventDefault();
    document.body.classList.add("dragging");
    for (const box of [$("#content-box"), $("#style-box")]) box.classList.toggle("over", target(e.target) === (box.id === "style-box" ? "style" : "content"));
  });
  document.addEventListener("dragleave", (e) => { if (!e.relatedTarget) dragDone(); });
  document.addEventListener("drop", (e) => {
    e.preventDefault(); dragDone();
    const files = [...(e.dataTransfer ? e.dataTransfer.files : [])];
    if (files.length) addFiles(files, target(e.target));
  });
  document.addEventListener("paste", (e) => {
    const files = [...(e.clipboardData ? e.clipboardData.files : [])];
    if (!files.length) return;
    e.preventDefault();
    addFiles(files, target(document.activeElement));
  });
}

function dragDone() {
  document.body.classList.remove("dragging");
  for (const box of document.querySelectorAll(".over")) box.classList.remove("over");
}

// ---- method, quality, size and the advanced form --------------------------------------------------------------
function method(name = state.method) { return state.config.methods.find((m) => m.name === name); }
function sizeField(m = method()) { return m.fields.find((f) => SIZE_FIELDS.includes(f.name)); }
// Settings are kept by name across methods (size is one whichever field holds it), but a value only carries
// over to a field of the same kind: steps per scale are not dream's steps; an empty value only where allowed.
function value(field) {
  const kept = state.values[SIZE_FIELDS.includes(field.name) ? "size" : field.name];
  if (kept === undefined || kept === null) return field.default;
  const v = typeof kept === "object" ? kept.v : kept, kind = typeof kept === "object" ? kept.kind : field.kind;
  if (kind !== field.kind || (v === "" && !field.optional)) return field.default;
  return v;
}
function setValue(name, v, kind) {
  const field = method().fields.find((f) => f.name === name);
  state.values[SIZE_FIELDS.includes(name) ? "size" : name] = { v, kind: kind || (field ? field.kind : "text") };
}

function setMethod(name) {
  state.method = name;
  $("#method").value = name;
  renderOptions();
}

// Quick runs the fast method; Good and Best run style transfer (or texture synthesis) at a quality.
function setQuality(quality) {
  state.quality = quality;
  for (const radio of document.querySelectorAll("#quality input")) radio.checked = radio.value === quality;
  if (quality === "quick") { if (state.method !== "fast") setMethod("fast"); }
  else {
    if (noPaintingNeeded()) { setValue("builtin", "", "mix"); dropOwnModel(); renderStyles(); }
    setValue("quality", QUALITY[quality], "choice");
    if (!method().fields.some((f) => f.name === "quality")) setMethod("transfer"); else renderOptions();
  }
  changed();
}

// The quality choice a method's settings amount to (null: none of the three).
function qualityOf(m) {
  if (m.name === "fast") return "quick";
  const field = m.fields.find((f) => f.name === "quality");
  return field ? Object.keys(QUALITY).find((k) => QUALITY[k] === value(field)) || null : null;
}

function syncQuality() {
  const m = method();
  const hasQuality = m.name === "fast" || m.fields.some((f) => f.name === "quality");
  const quality = qualityOf(m);
  state.quality = quality;
  for (const radio of document.querySelectorAll("#quality input")) {
    radio.checked = radio.value === quality;
  }
  $("#quality-note").textContent = !hasQuality ? `“${m.title}” has its own settings under Advanced.`
    : quality === null ? "Custom settings (see Advanced)." : ownModel() ? "Your models run on Quick."
    : builtin() ? "Built-in styles run on Quick." : "";
  const field = sizeField(m);
  const slider = $("#size-slider");
  slider.max = state.config.limits.max_side;
  const current = field ? value(field) : null;
  const long = current === null || current === undefined || current === "" ? null
    : Math.max(...String(current).split("x").map(Number));
  if (long && Number.isFinite(long)) slider.value = Math.min(long, slider.max);
  $("#size-value").textContent = !field ? "—" : long ? `${String(current).includes("x") ? current : long} px`
    : "as uploaded";
  slider.disabled = !field;
}

function layerChoices() {
  const field = method().fields.find((f) => f.name === "backbone");
  return state.config.layers[field ? value(field) : "vgg19"] || [];
}

function sliderInput(field, input) {
  const [lo, hi, step] = field.slider;
  const range = document.createElement("input");
  range.type = "range"; range.className = "slider"; range.setAttribute("aria-label", field.label);
  const toRange = (v) => field.log ? (Math.log(v) - Math.log(lo)) / (Math.log(hi) - Math.log(lo)) * 1000 : v;
  const fromRange = (r) => {
    if (!field.log) return Number(r);
    const v = Math.exp(Math.log(lo) + (Number(r) / 1000) * (Math.log(hi) - Math.log(lo)));
    return Number(v.toPrecision(2));
  };
  if (field.log) { range.min = 0; range.max = 1000; range.step = 1; } else { range.min = lo; range.max = hi; range.step = step || "any"; }
  const place = () => { const v = Number(input.value); if (Number.isFinite(v) && v > 0 || !field.log) range.value = toRange(v); };
  place();
  range.oninput = () => { input.value = fromRange(range.value); input.dispatchEvent(new Event("input")); };
  input.addEventListener("change", place);
  return range;
}

function fieldControl(field) {
  const id = `opt-${field.name}`;
  const current = value(field);
  let input;
  if (field.layers && field.kind === "names") {
    input = document.createElement("fieldset");
    input.className = "layers"; input.id = id;
    const legend = document.createElement("legend");
    legend.className = "visually-hidden"; legend.textContent = field.label;
    input.append(legend);
    const chosen = new Set(String(current || "").split(",").map((s) => s.trim()).filter(Boolean));
    for (const layer of layerChoices().filter((name) => name.startsWith("relu") || chosen.has(name))) {
      const label = document.createElement("label");
      const box = document.createElement("input");
      box.type = "checkbox"; box.value = layer; box.checked = chosen.has(layer);
      box.onchange = () => {
        setValue(field.name, [...input.querySelectorAll("input:checked")].map((b) => b.value).join(","));
        changed();
      };
      label.append(box, layer);
      input.append(label);
    }
    return input;
  }
  const choices = field.layers ? layerChoices() : field.choices;
  if (field.layers && current && !choices.includes(current)) choices.unshift(current);  // shown as it is sent
  if (choices.length) {
    input = document.createElement("select");
    if (field.optional) input.append(new Option("(none)", "", false, !current));
    const words = field.choice_words || {};  // plain words, the technical name after them
    for (const choice of choices) input.append(new Option(words[choice] || choice, choice, false, String(choice) === String(current)));
  } else if (field.kind === "bool") {
    input = document.createElement("input");
    input.type = "checkbox"; input.checked = current === true || current === "true";
  } else {
    input = document.createElement("input");
    input.type = "text";
    input.inputMode = field.kind === "int" || field.kind === "float" ? "decimal" : "text";
    input.value = current ?? "";
    input.placeholder = field.optional ? (SIZE_FIELDS.includes(field.name) ? "as uploaded" : "(empty)") : "";
  }
  input.id = id; input.name = field.name;
  const read = () => {
    setValue(field.name, input.type === "checkbox" ? input.checked : input.value);
    if (field.name === "backbone") renderOptions();
    if (field.name === "quality" || SIZE_FIELDS.includes(field.name)) syncQuality();
    if (field.name === "model" && builtin()) { setValue("builtin", "", "mix"); renderOptions(); }  // numbered anew
    if (field.name === "builtin" || field.name === "model") { if (noPaintingNeeded()) state.styles = []; renderStyles(); }
    changed();
  };
  input.addEventListener(input.tagName === "SELECT" || input.type === "checkbox" ? "change" : "input", read);
  return input;
}

function renderOptions() {
  const m = method();
  const form = $("#options");
  form.replaceChildren();
  const groups = new Map();
  for (const field of m.fields) {
    if (!groups.has(field.group)) {
      const set = document.createElement("fieldset");
      const legend = document.createElement("legend");
      legend.textContent = field.group;
      set.append(legend);
      groups.set(field.group, set);
      form.append(set);
    }
    const row = document.createElement("div");
    row.className = "field";
    const label = document.createElement("label");
    label.htmlFor = `opt-${field.name}`; label.textContent = field.label;
    const control = fieldControl(field);
    const help = document.createElement("span");
    help.className = "help"; help.id = `help-${field.name}`; help.textContent = field.help;
    const error = document.createElement("span");
    error.className = "field-error"; error.id = `err-${field.name}`; error.setAttribute("role", "alert");
    control.setAttribute("aria-describedby", `help-${field.name} err-${field.name}`);
    const line = document.createElement("div");
    line.className = "control";
    line.append(control);
    if (field.slider && control.tagName === "INPUT" && control.type === "text") line.prepend(sliderInput(field, control));
    row.append(label, line, help, error);
    groups.get(field.group).append(row);
  }
  const needs = [];
  if (m.needs_content) needs.push("a photo");
  if (m.styles === "many") needs.push(m.name === "fast" ? "a style (or a built-in one)" : "one or more styles");
  if (m.styles === "one") needs.push("one style (the texture to grow)");
  $("#method-note").textContent = m.scans_every_picture ? "Looks through every picture: the gallery's and the ones you upload."
    : needs.length ? `Uses ${needs.join(" and ")}.` : "Needs no pictures.";
  $("#method-known").textContent = m.known_as ? `Known to experts as ${m.known_as}.` : "";
  for (const [box, active] of [[$("#content-box"), m.needs_content || m.scans_every_picture], [$("#style-box"), m.styles !== "none"]]) {
    box.inert = !active;
    box.classList.toggle("inactive", !active);
    box.setAttribute("aria-disabled", String(!active));
  }
  syncQuality();
  renderMix();
  changed();
}

// The job the page would send now (``quality``: as if that choice were made).
function jobBody(quality = state.quality) {
  let m = method();
  const values = {};
  if (quality && quality !== qualityOf(m)) {
    m = quality === "quick" ? method("fast") : m.fields.some((f) => f.name === "quality") ? m : method("transfer");
  }
  for (const field of m.fields) {
    let v = value(field);
    if (field.name === "quality" && quality && quality !== "quick") v = QUALITY[quality];
    values[field.name] = v === null || v === undefined ? "" : v;
  }
  return {
    session: state.session, method: m.name, options: values,
    content: m.needs_content && state.content ? state.content.id : null,
    styles: m.styles === "none" || (m.name === "fast" && (values.builtin !== "" || isTrained(values.model))) ? []
      : state.styles.map((s) => s.id),
  };
}

// ---- estimates, checked as the settings change ------------------------------------------------------------
let estimateTimer = null;
function changed() {
  save();
  clearTimeout(estimateTimer);
  estimateTimer = setTimeout(estimate, 250);
}

async function estimate() {
  if (!state.session) return;
  const current = jobBody();
  try {
    const answer = await post("/api/estimate", { ...current, estimate: true });
    clearFieldErrors();
    $("#estimate").textContent = `${answer.text} on this machine`;
  } catch (error) {
    $("#estimate").textContent = "";
    if (error.field) markField(error.field, error.message);
  }
  for (const quality of Object.keys(QUALITY)) {
    const slot = document.querySelector(`.q-time[data-quality="${quality}"]`);
    if (quality !== "quick" && noPaintingNeeded()) { slot.textContent = "needs a painting"; continue; }
    try {
      const answer = await post("/api/estimate", { ...jobBody(quality), estimate: true });
      slot.textContent = answer.text;
    } catch (error) { slot.textContent = ""; }
  }
}

// ---- Go ------------------------------------------------------------------------------------------------------
async function go() {
  if (state.submitting) return;
  clearErrors();
  const m = method();
  if (m.needs_content && !state.content) { showError(new ApiError("This needs a photo: pick an example or upload one.", 0, "content")); return; }
  const body = jobBody();
  if (m.styles !== "none" && !body.styles.length && !(body.options.builtin) && !isTrained(body.options.model)) {
    showError(new ApiError("Pick a style first: a painting, your own upload, a built-in style or one of your models.", 0, "style")); return;
  }
  state.submitting = true;
  $("#go").disabled = true; $("#go").setAttribute("aria-busy", "true");
  try {
    const job = await post("/api/jobs", body);
    const card = showJob(job);
    if (outOfView(card, true)) card.scrollIntoView({ behavior: "smooth", block: "start" });
    announce(`${job.inputs.title} queued`);
  } catch (error) {
    if (error.status === 403) await renew(); else showError(error);
  } finally {
    state.submitting = false;
    $("#go").disabled = false; $("#go").removeAttribute("aria-busy");
  }
}

// Compare styles: the photo in every painting (the gallery's and the uploaded ones), one Quick job each, their
// cards side by side in the results.
async function compareStyles() {
  clearErrors();
  if (!state.content) { showError(new ApiError("Compare styles needs a photo: pick an example or upload one.", 0, "content")); return; }
  const paintings = [...state.images.values()].filter((image) => image.kind === "painting"
    || (image.kind === "upload" && image.role === "style") || state.styles.some((s) => s.id === image.id));
  const seen = new Set();
  for (const painting of paintings) {
    if (seen.has(painting.id)) continue;
    seen.add(painting.id);
    const body = jobBody("quick");
    body.styles = [painting.id];
    body.options.builtin = "";
    body.options.style_blend_weights = "";
    try { showJob(await post("/api/jobs", body)); } catch (error) { showError(error); return; }
  }
  announce(`comparing ${seen.size} styles`);
}

async function start() {
  let saved = {};
  try { saved = JSON.parse(localStorage.getItem(STORE) || "{}") || {}; } catch (e) { saved = {}; }
  try {
    state.config = await api("/api/config");
    const answer = await post("/api/session", { resume: saved.session });
    state.session = answer.session;
    if (answer.expired) {
      toast(`Your earlier pictures have expired (${keptFor()}).`, "info");
    }
    const known = new Map(state.config.examples.map((e) => [e.id, e]));
    for (const image of answer.images) known.set(image.id, remember(image));
    if (answer.resumed) restore(saved, known);
    const field = modelField();  // a saved model the server no longer has (a trained model removed): its default
    if (!field.choices.includes(String(value(field)))) { setValue("model", field.default, field.kind); setValue("builtin", "", "mix"); }
  } catch (error) { toast(`Cannot start: ${error.message}`); return; }
  for (const m of state.config.methods) $("#method").append(new Option(m.title, m.name));
  $("#method").value = state.method;
  $("#method").onchange = () => {
    setMethod($("#method").value);
    if (state.method !== "fast" && noPaintingNeeded()) { setValue("builtin", "", "mix"); dropOwnModel(); renderStyles(); }
  };
  $("#mix-slider").oninput = mixMoved;
  $("#compare").onclick = compareStyles;
  $("#mix-with").onclick = () => { state.mixing = !state.mixing; renderMix(); };
  $("#reset").onclick = () => {  // the method's defaults, at the size and quality chosen above
    const quality = state.quality;
    state.values = {};
    setValue("size", $("#size-slider").value, "size");
    renderStyles();
    if (quality && quality !== "quick") setQuality(quality); else renderOptions();
  };
  for (const radio of document.querySelectorAll("#quality input")) radio.onchange = () => setQuality(radio.value);
  $("#size-slider").oninput = () => {
    const field = sizeField();
    if (!field) return;
    setValue(field.name, $("#size-slider").value);
    const input = document.getElementById(`opt-${field.name}`);
    if (input) input.value = $("#size-slider").value;
    syncQuality();
    changed();
  };
  $("#go").onclick = go;
  $("#clear").onclick = removeAll;
  wireViewer();
  $("#viewer-close").onclick = () => $("#viewer").close();
  $("#viewer").onclick = (e) => { if (e.target === $("#viewer")) $("#viewer").close(); };
  wireFiles();
  renderGallery();
  if (!("size" in state.values)) setValue("size", "512", "size");
  renderStyles();
  renderOptions();
  updateResultsHead();
  showQueue(state.config.queue);
  setInterval(tick, 1000);
  listen();
  document.body.dataset.ready = "1";
}

start();
