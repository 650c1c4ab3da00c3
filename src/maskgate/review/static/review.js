// The reviewer screen: questionnaire + keyboard, synced viewer, mask correction, submit/skip.
import { Viewer } from "./viewer.js";
import { MaskEditor } from "./maskedit.js";

const task = JSON.parse(document.getElementById("task-data").textContent);
const item = task.item;
const csrf = document.querySelector('meta[name="csrf-token"]').content;
const t0 = performance.now();
const $ = (sel) => document.querySelector(sel);
const statusEl = $("#status");

function say(msg, isError = false) {
  statusEl.textContent = msg;
  statusEl.classList.toggle("error", isError);
}

function loadImage(url) {
  return new Promise((resolve, reject) => {
    const img = new Image();
    img.onload = () => resolve(img);
    img.onerror = () => reject(new Error("cannot load " + url));
    img.src = url;
  });
}

async function post(url, body) {
  const r = await fetch(url, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
    body: JSON.stringify(body),
  });
  return r;
}

// ------------------------------------------------------------ questionnaire
const questions = task.questions;
const answers = {};
const revising = task.revise != null;
if (revising) {
  // going back: start from the answer given, every question already answered
  for (const [k, v] of Object.entries(task.revise.answers)) if (v !== null) answers[k] = v;
  document.getElementById("note").value = task.revise.note;
}
let cursor = 0;
const list = $("#questions");
questions.forEach((q, i) => {
  const li = document.createElement("li");
  li.dataset.key = q.key;
  li.innerHTML = `<span class="qtext"></span><span class="opts">
    <button type="button" data-v="1"><kbd>1</kbd> ${q.yes}</button>
    <button type="button" data-v="2"><kbd>2</kbd> ${q.no}</button></span>`;
  li.querySelector(".qtext").textContent = q.text;
  li.addEventListener("click", (e) => {
    const b = e.target.closest("button");
    cursor = i;
    if (b) answer(b.dataset.v === "1");
    else renderQuestions();
  });
  list.appendChild(li);
});

function renderQuestions() {
  [...list.children].forEach((li, i) => {
    const v = answers[questions[i].key];
    li.classList.toggle("current", i === cursor);
    li.classList.toggle("answered", v !== undefined);
    li.querySelectorAll("button").forEach((b) => b.classList.toggle("chosen", v === (b.dataset.v === "1")));
  });
}

function answer(value) {
  answers[questions[cursor].key] = value;
  const next = questions.findIndex((q, i) => i > cursor && answers[q.key] === undefined);
  if (next >= 0) cursor = next;
  else if (cursor < questions.length - 1) cursor += 1;
  renderQuestions();
}
renderQuestions();

// ------------------------------------------------------------ images, viewer, mask
const [orig, edit] = await Promise.all([loadImage(item.original), loadImage(item.edited)]);
const W = item.width || orig.naturalWidth, H = item.height || orig.naturalHeight;
const mask = new MaskEditor(W, H);
if (item.premask) mask.setBase(await loadImage(item.premask));

const state = { flipped: false, showMask: true, opacity: 0.45, tool: "brush", size: 24, evidence: {} };
const evidenceImgs = {};
const paneEls = [$("#pane-left"), $("#pane-right")];
const maskLayer = () => ({ img: state.showMask ? mask.canvas : null, alpha: state.opacity });
const evidenceLayers = () => Object.entries(state.evidence).filter(([, on]) => on)
  // Heatmaps come as RGBA with their own alpha (transparent where the heat is low): draw them as is.
  .map(([k]) => ({ img: evidenceImgs[k], alpha: /heat/i.test(k) ? 1 : 0.55 }));
const viewer = new Viewer([
  { el: paneEls[0], canvas: paneEls[0].querySelector("canvas"),
    layers: () => [{ img: state.flipped ? edit : orig }, maskLayer()] },
  { el: paneEls[1], canvas: paneEls[1].querySelector("canvas"),
    layers: () => [{ img: edit }, ...evidenceLayers(), maskLayer()] },
], W, H);
mask.onchange = () => viewer.render();

let polygon = null; // {points, pane}
let hover = null; // {pane, x, y}: brush cursor position in image coordinates
viewer.overlay = (ctx, v) => {
  ctx.save();
  ctx.strokeStyle = "#ffeb3b"; ctx.lineWidth = 1.5;
  if (polygon && polygon.points.length) {
    ctx.beginPath();
    polygon.points.forEach((p, i) => {
      const x = v.ox + p.x * v.s, y = v.oy + p.y * v.s;
      i ? ctx.lineTo(x, y) : ctx.moveTo(x, y);
    });
    if (hover) ctx.lineTo(v.ox + hover.x * v.s, v.oy + hover.y * v.s);
    ctx.stroke();
  }
  if (hover && (state.tool === "brush" || state.tool === "eraser")) {
    ctx.beginPath();
    ctx.arc(v.ox + hover.x * v.s, v.oy + hover.y * v.s, state.size / 2, 0, Math.PI * 2);
    ctx.stroke();
  }
  ctx.restore();
};

function setTool(t) {
  state.tool = t;
  polygon = null;
  document.querySelectorAll("[data-tool]").forEach((b) => b.classList.toggle("active", b.dataset.tool === t));
  viewer.render();
}
setTool("brush");

for (const pane of viewer.panes) {
  const c = pane.canvas;
  let drag = null;
  c.addEventListener("contextmenu", (e) => e.preventDefault());
  c.addEventListener("wheel", (e) => {
    e.preventDefault();
    viewer.zoomAt(pane, e.clientX, e.clientY, Math.exp(-e.deltaY * 0.0015));
  }, { passive: false });
  c.addEventListener("pointerdown", (e) => {
    c.setPointerCapture(e.pointerId);
    const p = viewer.toImage(pane, e.clientX, e.clientY);
    if (e.button === 2 || e.button === 1 || state.tool === "pan" || spaceDown) {
      drag = { kind: "pan", x: e.clientX, y: e.clientY };
    } else if (state.tool === "polygon") {
      if (!polygon) polygon = { points: [], erase: e.altKey };
      polygon.points.push(p);
      viewer.render();
    } else if (e.button === 0) {
      const op = { type: "stroke", erase: state.tool === "eraser", size: state.size / viewer.s, points: [p] };
      mask.push(op);
      drag = { kind: "paint", op };
    }
  });
  c.addEventListener("pointermove", (e) => {
    const p = viewer.toImage(pane, e.clientX, e.clientY);
    hover = p;
    if (drag?.kind === "pan") {
      viewer.panBy(e.clientX - drag.x, e.clientY - drag.y);
      drag.x = e.clientX; drag.y = e.clientY;
    } else if (drag?.kind === "paint") {
      mask.extendStroke(drag.op, p);
    } else viewer.render();
  });
  const end = () => { drag = null; };
  c.addEventListener("pointerup", end);
  c.addEventListener("pointercancel", end);
  c.addEventListener("pointerleave", () => { hover = null; viewer.render(); });
  c.addEventListener("dblclick", () => closePolygon());
}

function closePolygon() {
  if (!polygon) return;
  // a double-click adds two extra vertices at the same place: harmless for a fill
  if (polygon.points.length >= 3) mask.push({ type: "polygon", erase: polygon.erase, size: 0, points: polygon.points });
  polygon = null;
  viewer.render();
}

async function refine() {
  say("Refining…");
  const body = { mask: mask.pngDataURL() };
  if (mask.hasHints()) { body.fg = mask.pngDataURL("fg"); body.bg = mask.pngDataURL("bg"); }
  const r = await post(`/api/tasks/${task.assignment_id}/refine`, body);
  if (!r.ok) { say("Refine failed: " + ((await r.json().catch(() => ({}))).detail || r.status), true); return; }
  const img = await loadImage(URL.createObjectURL(await r.blob()));
  mask.push({ type: "replace", img });
  say("Refined. Undo (Ctrl+Z) brings the previous mask back.");
}

// ------------------------------------------------------------ toolbar
document.querySelectorAll("[data-tool]").forEach((b) => b.addEventListener("click", () => setTool(b.dataset.tool)));
const sizeEl = $("#size"), opEl = $("#opacity");
sizeEl.addEventListener("input", () => { state.size = +sizeEl.value; viewer.render(); });
opEl.addEventListener("input", () => { state.opacity = +opEl.value / 100; viewer.render(); });
$("#undo").addEventListener("click", () => mask.undo());
$("#redo").addEventListener("click", () => mask.redo());
$("#refine").addEventListener("click", () => refine());
$("#flip").addEventListener("click", () => flip());
$("#fit").addEventListener("click", () => viewer.fit());
$("#submit").addEventListener("click", () => submit());
$("#skip")?.addEventListener("click", () => skip());
if (revising) $("#refine").disabled = true; // refining needs the task's lease

function flip() {
  state.flipped = !state.flipped;
  $("#label-left").textContent = state.flipped ? "edit (flipped)" : "original";
  viewer.render();
}

const toggles = $("#evidence-toggles");
for (const [name, url] of Object.entries(item.evidence)) {
  const label = document.createElement("label");
  label.className = "toggle";
  label.innerHTML = `<input type="checkbox"> <span></span>`;
  label.querySelector("span").textContent = name.replaceAll("_", " ");
  const box = label.querySelector("input");
  box.dataset.name = name;
  box.addEventListener("change", () => toggleEvidence(name, box.checked));
  toggles.appendChild(label);
  state.evidence[name] = false;
  evidenceImgs[name] = null;
  evidenceImgs[name + ":url"] = url;
}

// ------------------------------------------------------------ why a person is asked
const doubtList = $("#doubtful-list");
for (const d of item.doubtful || []) {
  const li = document.createElement("li");
  li.dataset.criterion = d.criterion;
  const verdict = d.pass === false ? "fail" : "pass";
  li.innerHTML = `<strong class="crit"></strong> <span class="score"></span> <span class="pf"></span> <span class="ev"></span>`;
  li.querySelector(".crit").textContent = d.criterion;
  li.querySelector(".score").textContent = `score ${Number(d.score).toFixed(2)}`;
  const pf = li.querySelector(".pf");
  pf.textContent = verdict;
  pf.classList.add(verdict);
  const ev = li.querySelector(".ev");
  for (const name of d.evidence) {
    const b = document.createElement("button");
    b.type = "button";
    b.className = "evidence";
    b.dataset.name = name;
    b.textContent = "show " + name.replaceAll("_", " ");
    b.addEventListener("click", () => toggleEvidence(name, !state.evidence[name]));
    ev.appendChild(b);
  }
  if (!d.evidence.length) ev.textContent = "no evidence image";
  if (d.missing.length) {
    const m = document.createElement("span");
    m.className = "error missing";
    m.textContent = " evidence missing: " + d.missing.join(", ");
    ev.appendChild(m);
  }
  doubtList.appendChild(li);
}
if (!doubtList.children.length) doubtList.innerHTML = "<li>The check left this pair to people without a doubtful criterion.</li>";

async function toggleEvidence(name, on) {
  if (on && !evidenceImgs[name]) evidenceImgs[name] = await loadImage(evidenceImgs[name + ":url"]);
  state.evidence[name] = on;
  const box = toggles.querySelector(`input[data-name="${CSS.escape(name)}"]`);
  if (box) box.checked = on;
  doubtList.querySelectorAll(`button[data-name="${CSS.escape(name)}"]`).forEach((b) => {
    b.classList.toggle("active", on);
    b.textContent = (on ? "hide " : "show ") + name.replaceAll("_", " ");
  });
  viewer.render();
}

function toggleEvidenceMatching(re) {
  const names = Object.keys(item.evidence).filter((n) => re.test(n));
  for (const n of names) toggleEvidence(n, !state.evidence[n]);
  if (!names.length) say("No such evidence for this pair.");
}

// ------------------------------------------------------------ submit / skip
let busy = false;
async function submit() {
  if (busy) return;
  const missing = questions.findIndex((q) => answers[q.key] === undefined);
  if (missing >= 0) {
    cursor = missing; renderQuestions();
    say("Answer every question first (highlighted).", true);
    return;
  }
  busy = true;
  say("Submitting…");
  // a revision changes the answers and the note; the mask submitted with the task stays
  const r = revising
    ? await post(`/api/answers/${task.revise.answer_id}/revise`, { answers, note: $("#note").value })
    : await post(`/api/tasks/${task.assignment_id}/submit`, {
      answers, note: $("#note").value, seconds: (performance.now() - t0) / 1000, mask: mask.pngDataURL(),
    });
  if (r.ok) { window.location.assign("/review"); return; }
  busy = false;
  const detail = (await r.json().catch(() => ({}))).detail || r.statusText;
  say(`Not saved: ${detail}`, true);
}

function back() {
  if (task.previous) window.location.assign(`/review/answers/${task.previous}`);
  else say("No earlier answer to go back to.");
}

async function skip() {
  if (busy || revising) return;
  busy = true;
  const r = await post(`/api/tasks/${task.assignment_id}/skip`, {});
  if (r.ok) { window.location.assign("/review"); return; }
  busy = false;
  say("Skip failed: " + ((await r.json().catch(() => ({}))).detail || r.status), true);
}

// ------------------------------------------------------------ keyboard
let spaceDown = false;
document.addEventListener("keyup", (e) => { if (e.key === " ") spaceDown = false; });
document.addEventListener("keydown", (e) => {
  const inText = e.target.closest && e.target.closest("textarea, input[type=text]");
  if (inText) {
    if (e.key === "Escape") e.target.blur();
    return;
  }
  const k = e.key;
  if ((e.ctrlKey || e.metaKey) && k.toLowerCase() === "z") { e.preventDefault(); e.shiftKey ? mask.redo() : mask.undo(); return; }
  if ((e.ctrlKey || e.metaKey) && k.toLowerCase() === "y") { e.preventDefault(); mask.redo(); return; }
  if (e.ctrlKey || e.metaKey || e.altKey) return;
  const handled = {
    "1": () => answer(true), "2": () => answer(false),
    ArrowDown: () => { cursor = Math.min(questions.length - 1, cursor + 1); renderQuestions(); },
    ArrowUp: () => { cursor = Math.max(0, cursor - 1); renderQuestions(); },
    Enter: () => (polygon ? closePolygon() : submit()),
    s: () => skip(), S: () => skip(), Backspace: () => back(),
    n: () => $("#note").focus(),
    b: () => setTool("brush"), e: () => setTool("eraser"), p: () => setTool("polygon"), v: () => setTool("pan"),
    "[": () => { state.size = Math.max(2, state.size - 4); sizeEl.value = state.size; viewer.render(); },
    "]": () => { state.size = Math.min(120, state.size + 4); sizeEl.value = state.size; viewer.render(); },
    r: () => refine(), f: () => flip(), m: () => { state.showMask = !state.showMask; viewer.render(); },
    h: () => toggleEvidenceMatching(/heat/i), o: () => toggleEvidenceMatching(/outline|missing/i),
    Home: () => viewer.fit(),
    Escape: () => { polygon = null; viewer.render(); },
    " ": () => { spaceDown = true; },
  }[k];
  if (handled) { e.preventDefault(); handled(); }
});

// Handles for tests and the screenshot script (read-only use).
window.maskgate = { task, answers, mask, viewer, ready: true };
document.body.dataset.ready = "1";
say(revising
  ? "Revising your earlier answer: change what you need, Enter saves (the mask you drew stays)."
  : `${W}×${H} · ${item.premask ? "pre-label loaded" : "no pre-label"} · keys: 1/2 answer, Enter submit, S skip`);
