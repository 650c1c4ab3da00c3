// The mask being corrected lives in an offscreen canvas at the image's full resolution (its
// alpha is the mask); what the reviewer sees is a scaled draw of it. Edits are recorded as
// operations so undo/redo replays them onto the pre-label instead of keeping full-size snapshots.
// Two small "hint" canvases remember where the reviewer painted (certain product) and erased
// (certain background): smart refine sends them to the server's GrabCut.

export const MASK_COLOR = "rgb(255, 0, 170)";

function makeCanvas(w, h) {
  const c = document.createElement("canvas");
  c.width = w; c.height = h;
  return c;
}

export class MaskEditor {
  constructor(w, h) {
    this.w = w; this.h = h;
    this.canvas = makeCanvas(w, h);
    this.ctx = this.canvas.getContext("2d", { willReadFrequently: false });
    this.hs = Math.min(1, 1024 / Math.max(w, h));
    this.fg = makeCanvas(Math.max(1, Math.round(w * this.hs)), Math.max(1, Math.round(h * this.hs)));
    this.bg = makeCanvas(this.fg.width, this.fg.height);
    this.base = null;
    this.ops = [];
    this.redoStack = [];
    this.onchange = () => {};
  }

  setBase(img) { this.base = img; this.redraw(); }

  redraw() {
    this.ctx.globalCompositeOperation = "source-over";
    this.ctx.clearRect(0, 0, this.w, this.h);
    for (const c of [this.fg, this.bg]) c.getContext("2d").clearRect(0, 0, c.width, c.height);
    if (this.base) this.ctx.drawImage(this.base, 0, 0, this.w, this.h);
    for (const op of this.ops) this.drawOp(op);
    this.onchange();
  }

  // --- drawing primitives, shared by live painting and replay
  paintPath(ctx, op, scale, erase, from = 0) {
    ctx.save();
    ctx.globalCompositeOperation = erase ? "destination-out" : "source-over";
    ctx.fillStyle = ctx.strokeStyle = MASK_COLOR;
    ctx.lineCap = "round"; ctx.lineJoin = "round";
    const pts = op.points;
    if (op.type === "polygon") {
      ctx.beginPath();
      pts.forEach((p, i) => (i ? ctx.lineTo(p.x * scale, p.y * scale) : ctx.moveTo(p.x * scale, p.y * scale)));
      ctx.closePath();
      ctx.fill();
    } else if (pts.length === 1) {
      ctx.beginPath();
      ctx.arc(pts[0].x * scale, pts[0].y * scale, (op.size * scale) / 2, 0, Math.PI * 2);
      ctx.fill();
    } else {
      ctx.lineWidth = op.size * scale;
      ctx.beginPath();
      const start = Math.max(0, from - 1);
      ctx.moveTo(pts[start].x * scale, pts[start].y * scale);
      for (let i = start + 1; i < pts.length; i++) ctx.lineTo(pts[i].x * scale, pts[i].y * scale);
      ctx.stroke();
    }
    ctx.restore();
  }

  drawOp(op, from = 0) {
    if (op.type === "replace") {
      this.ctx.save();
      this.ctx.globalCompositeOperation = "copy";
      this.ctx.drawImage(op.img, 0, 0, this.w, this.h);
      this.ctx.restore();
      return;
    }
    this.paintPath(this.ctx, op, 1, op.erase, from);
    const [on, off] = op.erase ? [this.bg, this.fg] : [this.fg, this.bg];
    this.paintPath(on.getContext("2d"), op, this.hs, false, from);
    this.paintPath(off.getContext("2d"), op, this.hs, true, from);
  }

  // --- editing API
  push(op) { this.ops.push(op); this.redoStack = []; this.drawOp(op); this.onchange(); }

  extendStroke(op, point) {
    op.points.push(point);
    this.drawOp(op, op.points.length - 1);
    this.onchange();
  }

  undo() { if (this.ops.length) { this.redoStack.push(this.ops.pop()); this.redraw(); } }

  redo() {
    if (this.redoStack.length) { const op = this.redoStack.pop(); this.ops.push(op); this.drawOp(op); this.onchange(); }
  }

  pngDataURL(which = "mask") {
    const c = which === "fg" ? this.fg : which === "bg" ? this.bg : this.canvas;
    return c.toDataURL("image/png");
  }

  hasHints() { return this.ops.some((o) => o.type !== "replace"); }

  // Pixels of the current mask as booleans (for tests and the screenshot script).
  bits() {
    const d = this.ctx.getImageData(0, 0, this.w, this.h).data;
    const out = new Uint8Array(this.w * this.h);
    for (let i = 0; i < out.length; i++) out[i] = d[i * 4 + 3] > 127 ? 1 : 0;
    return out;
  }
}
