// Boxes over a card's thumbnail: <OD> answers (solid) and the truth (dashed), each label clear of the others.

const SVG = "http://www.w3.org/2000/svg";

/** The boxes and labels of an <OD> result (`{"<OD>": {bboxes, labels}}` or `{bboxes, labels}`), or null. */
export function odBoxes(result) {
  const od = result && typeof result === "object" ? result["<OD>"] || result : null;
  return od && Array.isArray(od.bboxes) ? { bboxes: od.bboxes, labels: od.labels || [] } : null;
}

/** An <OD> answer's labels numbered as its boxes' markers are: "1 circle, 2 square". */
function numbered(labels) { return labels.map((label, i) => `${i + 1} ${label}`).join(", "); }

/** An answer as the card lists it: an <OD> answer as its count and labels (its boxes are drawn), others as text. */
export function answerText(task, result) {
  const od = task === "<OD>" ? odBoxes(result) : null;
  if (od) {
    const n = od.bboxes.length;
    return `${n} box${n === 1 ? "" : "es"} drawn on the thumbnail${n ? ": " + numbered(od.labels) : ""}`;
  }
  return typeof result === "string" ? result : JSON.stringify(result);
}

// The forms an answer's label may take, layout by layout: every answer in full (cut to a quarter of the thumbnail
// where a full label finds no room), else every answer cut (or its number), else every answer as its number.
const ANSWER_LAYOUTS = [["full", "cut"], ["cut", "number"], ["number"]];
const TRUTH_FORMS = ["full", "cut"];  // a truth label with no room is left out: the truth caption names it

/**
 * Draw `frame`'s truth boxes and `od` (an <OD> result) over the thumbnail `thumb` (its svg.boxes and
 * .box-labels), in the original image's pixels. Labels are HTML placed in percent of the thumbnail, the answer's
 * first: each takes the first place near its box that stays within the thumbnail and clear of the labels placed
 * before it (`labelPlaces`), in the first of `ANSWER_LAYOUTS` that names every answer. An answer's number is
 * the one the answer line and the thumbnail's title give it.
 */
export function drawBoxes(thumb, frame, od, img) {
  const svg = thumb.querySelector("svg.boxes");
  const layer = thumb.querySelector(".box-labels");
  const [w, h] = frame.image_size || [img.naturalWidth || 0, img.naturalHeight || 0];
  svg.replaceChildren();
  layer.replaceChildren();
  thumb.removeAttribute("title");
  if (!w || !h) return;
  svg.setAttribute("viewBox", `0 0 ${w} ${h}`);
  svg.setAttribute("preserveAspectRatio", "none");
  const truths = [], answers = [];
  const add = (box, label, cls, number = null) => {
    const [x0, y0, x1, y1] = box.map((v, i) => Math.min(Math.max(Number(v) || 0, 0), i % 2 ? h : w));
    const rect = document.createElementNS(SVG, "rect");
    Object.entries({ x: x0, y: y0, width: Math.max(x1 - x0, 1), height: Math.max(y1 - y0, 1), class: cls })
      .forEach(([k, v]) => rect.setAttribute(k, v));
    svg.append(rect);
    if (label) (number ? answers : truths).push({ box: [x0 / w, y0 / h, x1 / w, y1 / h], label, cls, number });
  };
  for (const obj of (frame.truth && frame.truth.objects) || []) add(obj.box, obj.label, "truth-box");
  const answer = odBoxes(od);
  if (answer) {
    answer.bboxes.forEach((box, i) => add(box, answer.labels[i] || "", "pred-box", i + 1));
    if (answer.labels.some(Boolean)) thumb.title = `answer: ${numbered(answer.labels)}`;
  }
  const area = layer.getBoundingClientRect();
  const size = [area.width || 128, area.height || 128];  // a thumbnail not laid out yet: the page's 128 px
  for (const [i, forms] of ANSWER_LAYOUTS.entries()) {
    layer.replaceChildren();
    const placed = [];
    const named = answers.map((item) => placeLabel(layer, item, forms, size, placed)).every(Boolean);
    if (named || i === ANSWER_LAYOUTS.length - 1) {
      truths.forEach((item) => placeLabel(layer, item, TRUTH_FORMS, size, placed));
      return;
    }
  }
}

/**
 * Put `item`'s label at the first free place for its first form that has one (`full`: at most half the
 * thumbnail wide, `cut`: a quarter, `number`: the answer's number); `placed` gains its rect. False (and no
 * label) if no form finds room.
 */
function placeLabel(layer, { box, label, cls, number }, forms, [tw, th], placed) {
  const span = document.createElement("span");
  span.className = `box-label ${cls}`;
  span.dataset.label = label;
  layer.append(span);
  const pct = (v, of) => `${((100 * v) / of).toFixed(6)}%`;
  for (const form of forms) {
    span.textContent = form === "number" ? String(number) : label;
    span.style.maxWidth = form === "cut" ? "25%" : "";
    span.classList.toggle("marker", form === "number");
    const measured = span.getBoundingClientRect();
    const lw = measured.width || Math.min(tw / 2, 6 * span.textContent.length + 4), lh = measured.height || 12;
    const px = [box[0] * tw, box[1] * th, box[2] * tw, box[3] * th];
    const free = labelPlaces(px, [lw, lh], [tw, th], cls === "truth-box")
      .map(([x, y]) => [x, y, x + lw, y + lh])
      .find((r) => placed.every((p) => r[0] >= p[2] || p[0] >= r[2] || r[1] >= p[3] || p[1] >= r[3]));
    if (free) {
      placed.push(free);
      span.style.left = pct(free[0], tw);
      span.style.top = pct(free[1], th);
      return true;
    }
  }
  span.remove();
  return false;
}

/**
 * Where a label `size` [w, h] px may go for the box `[x0, y0, x1, y1]` px in a thumbnail `[tw, th]` px, best
 * first: inside the box at its top (the truth's: its bottom), then its bottom (top), then above it (below), then
 * below it (above), a box shorter than two labels outside it first (a label inside would cover the shape); each
 * from the box's nearer side, then its other, shifted within the thumbnail's width; last beside the box, right
 * or left, level with its top, bottom or middle. Only places within the thumbnail.
 */
function labelPlaces([x0, y0, x1, y1], [lw, lh], [tw, th], atBottom) {
  let ys = atBottom ? [y1 - lh, y0, y1, y0 - lh] : [y0, y1 - lh, y0 - lh, y1];
  if (y1 - y0 < 2 * lh) ys = [...ys.slice(2), ...ys.slice(0, 2)];
  const clampX = (x) => Math.min(Math.max(x, 0), tw - lw);
  const xs = (x0 + x1) / 2 < tw / 2 ? [x0, x1 - lw] : [x1 - lw, x0];
  const sides = (x0 + x1) / 2 < tw / 2 ? [x1, x0 - lw] : [x0 - lw, x1];
  const levels = atBottom ? [y1 - lh, y0, (y0 + y1 - lh) / 2] : [y0, y1 - lh, (y0 + y1 - lh) / 2];
  const places = [...ys.flatMap((y) => xs.map((x) => [clampX(x), y])),
    ...levels.flatMap((y) => sides.map((x) => [x, Math.min(Math.max(y, 0), th - lh)]))];
  return places.filter(([x, y]) => x >= 0 && x + lw <= tw && y >= 0 && y + lh <= th);
}
