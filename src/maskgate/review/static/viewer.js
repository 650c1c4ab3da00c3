// Two panes with one shared view transform: zoom or pan either and both follow.
// Images are drawn at screen resolution (the canvas is the size of the pane), so a 4000-px photo
// costs one scaled drawImage per pane per frame, whatever the zoom.

export class Viewer {
  constructor(panes, width, height) {
    this.panes = panes; // [{el, canvas, layers: () => [{img, alpha}]}]
    this.w = width;
    this.h = height;
    this.s = 1; this.ox = 0; this.oy = 0;
    this.overlay = null; // (ctx, viewer) => void, drawn last (polygon in progress, cursor)
    this.pending = false;
    for (const p of panes) p.ctx = p.canvas.getContext("2d");
    new ResizeObserver(() => { this.resize(); }).observe(panes[0].el);
    this.resize();
    this.fit();
  }

  resize() {
    const dpr = window.devicePixelRatio || 1;
    for (const p of this.panes) {
      const r = p.el.getBoundingClientRect();
      p.cw = Math.max(1, Math.round(r.width)); p.ch = Math.max(1, Math.round(r.height));
      p.canvas.width = Math.round(p.cw * dpr); p.canvas.height = Math.round(p.ch * dpr);
      p.canvas.style.width = p.cw + "px"; p.canvas.style.height = p.ch + "px";
      p.dpr = dpr;
    }
    this.render();
  }

  fit() {
    const p = this.panes[0];
    if (!p.cw) return;
    this.s = Math.min(p.cw / this.w, p.ch / this.h) * 0.98;
    this.ox = (p.cw - this.w * this.s) / 2;
    this.oy = (p.ch - this.h * this.s) / 2;
    this.render();
  }

  toImage(pane, clientX, clientY) {
    const r = pane.canvas.getBoundingClientRect();
    return { x: (clientX - r.left - this.ox) / this.s, y: (clientY - r.top - this.oy) / this.s };
  }

  toClient(pane, x, y) {
    const r = pane.canvas.getBoundingClientRect();
    return { x: r.left + this.ox + x * this.s, y: r.top + this.oy + y * this.s };
  }

  zoomAt(pane, clientX, clientY, factor) {
    const r = pane.canvas.getBoundingClientRect();
    const px = clientX - r.left, py = clientY - r.top;
    const ns = Math.min(64, Math.max(0.02, this.s * factor));
    this.ox = px - (px - this.ox) * (ns / this.s);
    this.oy = py - (py - this.oy) * (ns / this.s);
    this.s = ns;
    this.render();
  }

  panBy(dx, dy) { this.ox += dx; this.oy += dy; this.render(); }

  render() {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => { this.pending = false; this.draw(); });
  }

  draw() {
    for (const p of this.panes) {
      const ctx = p.ctx;
      ctx.setTransform(p.dpr, 0, 0, p.dpr, 0, 0);
      ctx.globalAlpha = 1;
      ctx.clearRect(0, 0, p.cw, p.ch);
      ctx.imageSmoothingEnabled = this.s < 2;
      for (const layer of p.layers()) {
        if (!layer.img) continue;
        ctx.globalAlpha = layer.alpha ?? 1;
        ctx.drawImage(layer.img, this.ox, this.oy, this.w * this.s, this.h * this.s);
      }
      ctx.globalAlpha = 1;
      if (this.overlay) this.overlay(ctx, this);
    }
  }
}
