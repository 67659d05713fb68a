// A small SVG line chart of the last N values (no library): a title, the latest value, y and x axes, a legend.

const SVG = "http://www.w3.org/2000/svg";
const W = 300, H = 116;
const M = { left: 36, right: 8, top: 8, bottom: 26 };  // room for the y tick labels, the x ticks and the x title
const PW = W - M.left - M.right, PH = H - M.top - M.bottom;
const LOG_SPREAD = 20;  // a log scale when the largest value is this many times the smallest (fp16 beside learned)

function svg(tag, attrs = {}, text = null) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  if (text !== null) el.textContent = text;
  return el;
}

/** A tick step of 1, 2 or 5 times a power of ten giving about `count` steps up to `max`. */
function niceStep(max, count = 3) {
  const raw = max / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw);
}

/** A tick label: 1,500 → "1.5k", 20,000 → "20k"; small numbers as they are. */
function tickText(v) {
  if (Math.abs(v) >= 1000) return `${+(v / 1000).toFixed(1)}k`;
  return String(+v.toFixed(2));
}

export class LineChart {
  /**
   * `unit` names the y axis ("B", "%", "ms"); `format(v)` renders a value (and `tick(v)` a tick) in that unit;
   * `fixedMax` pins the top of the scale (1 for a rate); `logWhenSpread` lets a wide spread use a log scale;
   * `xTitle` names the x axis, whose ticks are the labels given to `draw`.
   */
  constructor(parent, title, { format = (v) => v.toFixed(0), tick = tickText, fixedMax = null, unit = "",
    logWhenSpread = false, xTitle = "frame #" } = {}) {
    Object.assign(this, { format, tick, fixedMax, unit, logWhenSpread, xTitle });
    this.figure = document.createElement("figure");
    this.figure.className = "chart";
    const caption = document.createElement("figcaption");
    this.titleEl = document.createElement("span");
    this.titleEl.textContent = title;
    this.valueEl = document.createElement("span");
    this.valueEl.className = "chart-value";
    caption.append(this.titleEl, this.valueEl);
    this.svg = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": title });
    this.axes = svg("g", { class: "axes" });
    this.plot = svg("g", { class: "plot" });
    this.svg.append(this.axes, this.plot);
    this.legend = document.createElement("div");
    this.legend.className = "chart-legend small";
    this.legend.hidden = true;
    this.lines = new Map();
    this.figure.append(caption, this.svg, this.legend);
    parent.append(this.figure);
  }

  /** A new title (e.g. the wire bytes' transport cost changed). */
  retitle(title) {
    if (this.titleEl.textContent === title) return;
    this.titleEl.textContent = title;
    this.svg.setAttribute("aria-label", title);
  }

  /** The y scale for these values: {y(v) → px, ticks, log}. */
  scale(values) {
    const positive = values.filter((v) => v > 0);
    const top = Math.max(1e-9, ...values);
    if (this.fixedMax === null && this.logWhenSpread && positive.length && top / Math.min(...positive) > LOG_SPREAD) {
      const lo = Math.floor(Math.log10(Math.min(...positive))), hi = Math.ceil(Math.log10(top));
      const y = (v) => M.top + PH - ((Math.log10(Math.max(v, 10 ** lo)) - lo) / (hi - lo)) * PH;
      return { y, ticks: Array.from({ length: hi - lo + 1 }, (_, i) => 10 ** (lo + i)), log: true };
    }
    let max = this.fixedMax, step;
    if (max === null) {
      step = niceStep(top * 1.05);
      max = Math.ceil((top * 1.05) / step) * step;
    } else step = niceStep(max, 2);
    const ticks = [];
    for (let v = 0; v <= max + step / 1e6; v += step) ticks.push(v);
    return { y: (v) => M.top + PH - (Math.min(v, max) / max) * PH, ticks, log: false };
  }

  drawAxes({ y, ticks, log }, xLabels) {
    const parts = [svg("line", { class: "axis", x1: M.left, y1: M.top, x2: M.left, y2: M.top + PH }),
      svg("line", { class: "axis", x1: M.left, y1: M.top + PH, x2: M.left + PW, y2: M.top + PH })];
    for (const v of ticks) {
      const at = y(v).toFixed(1);
      parts.push(svg("line", { class: "grid", x1: M.left, y1: at, x2: M.left + PW, y2: at }),
        svg("text", { class: "tick y-tick", x: M.left - 3, y: at, "text-anchor": "end", "dominant-baseline": "middle" },
          this.tick(v)));
    }
    parts.push(svg("text", { class: "unit y-unit", x: 2, y: M.top + 2, "dominant-baseline": "hanging" },
      log ? `${this.unit}, log` : this.unit));
    const n = xLabels.length;
    const at = n > 1 ? [...new Set([0, Math.round((n - 1) / 2), n - 1])] : n ? [0] : [];
    for (const i of at) {
      const x = M.left + (n > 1 ? (i / (n - 1)) * PW : 0);
      const anchor = n > 1 && i === n - 1 ? "end" : i === 0 ? "start" : "middle";
      parts.push(svg("line", { class: "axis", x1: x, y1: M.top + PH, x2: x, y2: M.top + PH + 3 }),
        svg("text", { class: "tick x-tick", x, y: M.top + PH + 5, "text-anchor": anchor, "dominant-baseline": "hanging" },
          String(xLabels[i])));
    }
    parts.push(svg("text", { class: "unit x-unit", x: M.left + PW / 2, y: H - 1, "text-anchor": "middle" }, this.xTitle));
    this.axes.replaceChildren(...parts);
    this.svg.dataset.scale = log ? "log" : "linear";
  }

  /** series: {name: [values or null]}, the first the headline value; xLabels: one per value (the x ticks). */
  draw(series, xLabels = []) {
    const all = Object.values(series).flat().filter((v) => v !== null && Number.isFinite(v));
    const scale = this.scale(all);
    this.drawAxes(scale, xLabels);
    for (const [name, line] of this.lines) if (!(name in series)) { line.remove(); this.lines.delete(name); }
    Object.entries(series).forEach(([name, values], index) => {
      let line = this.lines.get(name);
      if (!line) {
        line = svg("polyline", { fill: "none" });
        this.plot.append(line);
        this.lines.set(name, line);
      }
      line.setAttribute("class", `series series-${index}`);
      const n = Math.max(values.length - 1, 1);
      const points = [];
      values.forEach((v, i) => {
        if (v === null || !Number.isFinite(v)) return;
        points.push(`${(M.left + (i / n) * PW).toFixed(1)},${scale.y(v).toFixed(1)}`);
      });
      line.setAttribute("points", points.join(" "));
    });
    this.showLegend(Object.keys(series));
    const [first] = Object.values(series);
    const last = first && [...first].reverse().find((v) => v !== null && Number.isFinite(v));
    const top = all.length ? Math.max(...all) : 0;
    const unit = this.unit ? ` ${this.unit}` : "";
    this.valueEl.textContent = last === undefined ? "–" : `last ${this.format(last)}${unit} · max ${this.format(top)}${unit}`;
  }

  showLegend(names) {
    this.legend.hidden = names.length < 2;
    if (this.legend.hidden || this.legend.dataset.names === names.join("\n")) return;
    this.legend.dataset.names = names.join("\n");
    this.legend.replaceChildren(...names.map((name, i) => {
      const item = document.createElement("span");
      item.className = `key series-${i}`;
      item.textContent = name;
      return item;
    }));
  }
}
