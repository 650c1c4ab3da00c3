// The report's gallery: filters, sorts and pages the cards of the JSON data island, and shows a
// pair at full size with its evidence over the edit. Hand-written because the page must open
// offline from a zipped folder with no build step; it only builds DOM from the island (text via
// textContent, so no id or path can inject markup) and keeps one page of images in the document.
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("report-data").textContent);
  const cards = data.cards;
  const $ = (id) => document.getElementById(id);
  const state = { page: 0, list: cards, open: -1, layer: "im_e", over: null };

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = text;
    return e;
  }
  const disagrees = (c) => c.l !== null && c.l !== undefined && c.p !== null && c.p !== c.l;
  const wrong = (o) => o === "false accept" || o === "false reject";
  function margin(card) {
    let m = Infinity;
    for (const c of card.cr) if (c.st !== "na" && c.a !== null) m = Math.min(m, Math.abs(c.s - c.a));
    return m;
  }

  function matches(card, f) {
    if (f.verdict && card.v !== f.verdict) return false;
    if (f.kind && card.k !== f.kind) return false;
    if (f.text && card.id.toLowerCase().indexOf(f.text) < 0) return false;
    if (f.criterion) {
      const c = card.cr.find((x) => x.c === f.criterion);
      if (!c || !(c.st === "fail" || c.st === "doubt" || disagrees(c))) return false;
    }
    switch (f.outcome) {
      case "": return true;
      case "wrong": return wrong(card.o);
      case "unlabelled": return card.o === null;
      case "criterion": return card.cr.some(disagrees);
      default: return card.o === f.outcome;
    }
  }

  // The filters live in the address's #fragment too, so a view ("false rejects on residue") can be
  // bookmarked or sent along with the zipped folder.
  const FIELDS = { verdict: "f-verdict", criterion: "f-criterion", kind: "f-kind", outcome: "f-outcome", id: "f-text", sort: "f-sort" };

  function readHash() {
    const q = new URLSearchParams(location.hash.slice(1));
    for (const [k, id] of Object.entries(FIELDS)) {
      const v = q.get(k);
      if (v === null) continue;
      const e = $(id);
      if (e.tagName === "SELECT" && ![...e.options].some((o) => o.value === v)) continue;
      e.value = v;
    }
    const page = parseInt(q.get("page") || "1", 10);
    return Number.isFinite(page) && page > 0 ? page - 1 : 0;
  }

  function writeHash() {
    const q = new URLSearchParams();
    for (const [k, id] of Object.entries(FIELDS)) if ($(id).value) q.set(k, $(id).value);
    if (state.page) q.set("page", String(state.page + 1));
    const h = q.toString();
    history.replaceState(null, "", h ? "#" + h : location.pathname + location.search);
  }

  function apply(keepPage) {
    const f = {
      verdict: $("f-verdict").value, kind: $("f-kind").value, criterion: $("f-criterion").value,
      outcome: $("f-outcome").value, text: $("f-text").value.trim().toLowerCase(),
    };
    const sort = $("f-sort").value;
    const list = cards.filter((c) => matches(c, f));
    const score = (c) => (c.s === null ? -1 : c.s);
    const cmp = {
      score: (a, b) => score(a) - score(b),
      "-score": (a, b) => score(b) - score(a),
      id: (a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
      margin: (a, b) => margin(a) - margin(b),
    }[sort];
    list.sort((a, b) => cmp(a, b) || (a.id < b.id ? -1 : 1));
    state.list = list;
    if (!keepPage) state.page = 0;
    render();
  }

  function figure(img, label) {
    const f = el("div", "fig");
    if (img && img[0]) {
      const i = el("img");
      i.loading = "lazy";
      i.alt = label;
      i.src = img[0];
      i.addEventListener("error", () => i.replaceWith(el("span", "missing", "missing")));
      f.appendChild(i);
    } else f.appendChild(el("span", "missing", "missing"));
    f.appendChild(el("div", null, label));
    return f;
  }

  function chips(card) {
    const box = el("div", "crit");
    for (const c of card.cr) {
      let t = c.c + " " + (c.s === null ? "n/a" : c.s.toFixed(2));
      if (c.st === "doubt") t += c.a === null ? " (doubtful: never accepts alone)" : " (doubtful, accept ≥ " + c.a + ")";
      if (c.l !== null && c.l !== undefined) t += c.l ? " · label pass" : " · label fail";
      const s = el("span", "cs " + c.st + (disagrees(c) ? " disagree" : ""), t);
      s.title = c.st === "na" ? "not applicable or not judged" : c.p ? "check: pass" : "check: fail";
      box.appendChild(s);
    }
    return box;
  }

  function head(card) {
    const h = el("div", "head");
    h.appendChild(el("span", "pill v-" + card.v, card.v));
    if (card.g !== null && card.g !== undefined) {
      h.appendChild(el("span", "lab " + (card.g ? "good" : "bad"), card.g ? "label: acceptable" : "label: not acceptable"));
    }
    if (card.o && card.o !== "review") h.appendChild(el("span", wrong(card.o) ? "out-wrong" : "out-right", card.o));
    h.appendChild(el("span", "id", card.id));
    const bits = [card.k, card.s === null ? null : "score " + card.s.toFixed(3), card.d ? "defect " + card.d : null];
    h.appendChild(el("small", null, bits.filter(Boolean).join(" · ")));
    return h;
  }

  function render() {
    const n = state.list.length, size = data.page;
    const pages = Math.max(1, Math.ceil(n / size));
    state.page = Math.min(state.page, pages - 1);
    const g = $("gallery");
    g.replaceChildren();
    state.list.slice(state.page * size, (state.page + 1) * size).forEach((card, j) => {
      const c = el("div", "card" + (wrong(card.o) ? " wrong" : ""));
      c.dataset.id = card.id;
      c.appendChild(head(card));
      c.appendChild(chips(card));
      for (const note of card.n) c.appendChild(el("div", null, note)).style.fontStyle = "italic";
      const imgs = el("div", "imgs");
      imgs.appendChild(figure(card.im_o, "original"));
      imgs.appendChild(figure(card.im_e, "edit"));
      for (const e of card.ev) imgs.appendChild(figure(e.im, e.label));
      c.appendChild(imgs);
      c.tabIndex = 0;
      c.addEventListener("click", () => openViewer(state.page * size + j));
      c.addEventListener("keydown", (e) => { if (e.key === "Enter") openViewer(state.page * size + j); });
      g.appendChild(c);
    });
    $("status").textContent = n ? `${n} of ${cards.length} pairs · page ${state.page + 1} of ${pages}` : `no pair matches (of ${cards.length})`;
    document.querySelectorAll(".pager .prev").forEach((b) => (b.disabled = state.page === 0));
    document.querySelectorAll(".pager .next").forEach((b) => (b.disabled = state.page >= pages - 1));
    document.body.dataset.page = String(state.page + 1);
    document.body.dataset.pages = String(pages);
    document.body.dataset.matching = String(n);
    writeHash();
  }

  function go(delta) {
    state.page += delta;
    render();
    $("pairs").scrollIntoView();
  }

  // ---- full-size view: the files themselves; an evidence image drawn in the edit's frame (a
  // heatmap, an outline) is laid over the edit, one of another shape (side-by-side crops) is shown
  // on its own, since stretching it over the edit would misplace every pixel
  function sameFrame(a, b) {
    return a.naturalWidth && b.naturalWidth &&
      Math.abs(a.naturalWidth / a.naturalHeight - b.naturalWidth / b.naturalHeight) < 0.02 * (b.naturalWidth / b.naturalHeight);
  }

  function fitOverlay() {
    const base = $("v-base"), over = $("v-over");
    if (state.over === null || over.hidden) return;
    const laid = sameFrame(over, base);
    base.style.visibility = laid ? "visible" : "hidden";
    over.style.opacity = laid ? $("v-opacity").value / 100 : 1;
    over.style.width = laid ? base.clientWidth + "px" : "";
    over.style.height = laid ? base.clientHeight + "px" : "";
    document.body.dataset.viewerMode = laid ? "overlay" : "alone";
  }

  function show() {
    const card = state.list[state.open];
    const base = $("v-base"), over = $("v-over");
    const src = (card[state.layer] || [null, null])[1];
    base.onerror = () => { $("v-title").textContent = card.id + " — cannot load " + decodeURIComponent(src || "the image"); };
    if (base.getAttribute("src") !== src) base.src = src || "";
    base.alt = state.layer === "im_o" ? "original" : "edit";
    base.style.visibility = "visible";
    const ev = state.over === null ? null : card.ev[state.over];
    over.hidden = !ev;
    over.style.width = over.style.height = "";
    document.body.dataset.viewerMode = ev ? "loading" : "plain";
    if (ev) {
      over.alt = ev.label;
      if (over.getAttribute("src") !== ev.im[1]) over.src = ev.im[1];
      else fitOverlay();
    }
    $("v-title").textContent = card.id;
    const layers = $("v-layers");
    layers.replaceChildren();
    const btn = (label, on, fn) => {
      const b = el("button", on ? "on" : "", label);
      b.type = "button";
      b.addEventListener("click", fn);
      layers.appendChild(b);
    };
    btn("original", state.layer === "im_o", () => { state.layer = "im_o"; state.over = null; show(); });
    btn("edit", state.layer === "im_e" && state.over === null, () => { state.layer = "im_e"; state.over = null; show(); });
    card.ev.forEach((e, k) => btn(e.label, state.over === k, () => { state.layer = "im_e"; state.over = k; show(); }));
    const info = $("v-info");
    info.replaceChildren(head(card), chips(card));
    document.body.dataset.viewer = card.id;
  }

  function openViewer(i) {
    state.open = i;
    state.layer = "im_e";
    state.over = null;
    $("viewer").hidden = false;
    show();
  }

  function closeViewer() {
    $("viewer").hidden = true;
    $("v-base").removeAttribute("src");
    $("v-over").removeAttribute("src");
    delete document.body.dataset.viewer;
  }

  function step(d) {
    const i = state.open + d;
    if (i < 0 || i >= state.list.length) return;
    state.open = i;
    state.over = null;
    show();
  }

  for (const id of ["f-verdict", "f-kind", "f-criterion", "f-outcome", "f-sort"]) $(id).addEventListener("change", () => apply(false));
  $("f-text").addEventListener("input", () => apply(false));
  document.querySelectorAll(".pager .prev").forEach((b) => b.addEventListener("click", () => go(-1)));
  document.querySelectorAll(".pager .next").forEach((b) => b.addEventListener("click", () => go(1)));
  $("v-close").addEventListener("click", closeViewer);
  $("v-prev").addEventListener("click", () => step(-1));
  $("v-next").addEventListener("click", () => step(1));
  $("v-opacity").addEventListener("input", fitOverlay);
  $("v-actual").addEventListener("change", () => { $("v-stage").classList.toggle("actual", $("v-actual").checked); fitOverlay(); });
  $("v-base").addEventListener("load", fitOverlay);
  $("v-over").addEventListener("load", fitOverlay);
  window.addEventListener("resize", fitOverlay);
  document.addEventListener("keydown", (e) => {
    if ($("viewer").hidden) return;
    if (e.key === "Escape") closeViewer();
    else if (e.key === "ArrowRight") step(1);
    else if (e.key === "ArrowLeft") step(-1);
  });
  state.page = readHash();
  apply(true);
  document.body.dataset.ready = "1";
})();
