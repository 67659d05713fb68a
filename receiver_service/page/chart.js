// A small SVG line chart of the last N values (no library): a title, the latest value and the range.

const SVG = "http://www.w3.org/2000/svg";
const W = 300, H = 70;

export class LineChart {
  /** `format(v)` renders a value; `fixedMax` pins the top of the scale (e.g. 1 for a rate). */
  constructor(parent, title, { format = (v) => v.toFixed(0), fixedMax = null, unit = "" } = {}) {
    this.format = format;
    this.fixedMax = fixedMax;
    this.unit = unit;
    this.figure = document.createElement("figure");
    this.figure.className = "chart";
    const caption = document.createElement("figcaption");
    this.titleEl = document.createElement("span");
    this.titleEl.textContent = title;
    this.valueEl = document.createElement("span");
    this.valueEl.className = "chart-value";
    caption.append(this.titleEl, this.valueEl);
    this.svg = document.createElementNS(SVG, "svg");
    this.svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
    this.svg.setAttribute("role", "img");
    this.svg.setAttribute("aria-label", title);
    this.lines = new Map();
    this.figure.append(caption, this.svg);
    parent.append(this.figure);
  }

  /** A new title (e.g. the wire bytes' transport cost changed). */
  retitle(title) {
    if (this.titleEl.textContent === title) return;
    this.titleEl.textContent = title;
    this.svg.setAttribute("aria-label", title);
  }

  /** series: {name: [values or null]}; the first series is the headline value. */
  draw(series) {
    const all = Object.values(series).flat().filter((v) => v !== null && Number.isFinite(v));
    const max = this.fixedMax ?? Math.max(1e-9, ...all) * 1.1;
    for (const [name, values] of Object.entries(series)) {
      let line = this.lines.get(name);
      if (!line) {
        line = document.createElementNS(SVG, "polyline");
        line.setAttribute("class", `series series-${this.lines.size}`);
        line.setAttribute("fill", "none");
        this.svg.append(line);
        this.lines.set(name, line);
      }
      const n = Math.max(values.length - 1, 1);
      const points = [];
      values.forEach((v, i) => {
        if (v === null || !Number.isFinite(v)) return;
        points.push(`${((i / n) * W).toFixed(1)},${(H - 2 - (Math.min(v, max) / max) * (H - 4)).toFixed(1)}`);
      });
      line.setAttribute("points", points.join(" "));
    }
    const [first] = Object.values(series);
    const last = first && [...first].reverse().find((v) => v !== null && Number.isFinite(v));
    const top = all.length ? Math.max(...all) : 0;
    this.valueEl.textContent = last === undefined ? "–" : `last ${this.format(last)}${this.unit} · max ${this.format(top)}${this.unit}`;
  }
}
