// Boxes over a card's thumbnail: <OD> answers (solid) and the truth (dashed), labelled inside the thumbnail.

const SVG = "http://www.w3.org/2000/svg";

/** The boxes and labels of an <OD> result (`{"<OD>": {bboxes, labels}}` or `{bboxes, labels}`), or null. */
export function odBoxes(result) {
  const od = result && typeof result === "object" ? result["<OD>"] || result : null;
  return od && Array.isArray(od.bboxes) ? { bboxes: od.bboxes, labels: od.labels || [] } : null;
}

/** An answer as the card lists it: an <OD> answer as its count and labels (its boxes are drawn), others as text. */
export function answerText(task, result) {
  const od = task === "<OD>" ? odBoxes(result) : null;
  if (od) {
    const n = od.bboxes.length;
    return `${n} box${n === 1 ? "" : "es"} drawn on the thumbnail${n ? ": " + od.labels.join(", ") : ""}`;
  }
  return typeof result === "string" ? result : JSON.stringify(result);
}

/**
 * Draw `frame`'s truth boxes and `od` (an <OD> result) over the thumbnail `thumb` (its svg.boxes and
 * .box-labels), in the original image's pixels. Labels are HTML placed in percent of the thumbnail, inside
 * their box (an answer's at its top, the truth's at its bottom) and never past the thumbnail's edges.
 */
export function drawBoxes(thumb, frame, od, img) {
  const svg = thumb.querySelector("svg.boxes");
  const labels = thumb.querySelector(".box-labels");
  const [w, h] = frame.image_size || [img.naturalWidth || 0, img.naturalHeight || 0];
  svg.replaceChildren();
  labels.replaceChildren();
  if (!w || !h) return;
  svg.setAttribute("viewBox", `0 0 ${w} ${h}`);
  svg.setAttribute("preserveAspectRatio", "none");
  const add = (box, label, cls, atBottom) => {
    const [x0, y0, x1, y1] = box.map((v, i) => Math.min(Math.max(Number(v) || 0, 0), i % 2 ? h : w));
    const rect = document.createElementNS(SVG, "rect");
    Object.entries({ x: x0, y: y0, width: Math.max(x1 - x0, 1), height: Math.max(y1 - y0, 1), class: cls })
      .forEach(([k, v]) => rect.setAttribute(k, v));
    svg.append(rect);
    if (!label) return;
    const span = document.createElement("span");
    span.className = `box-label ${cls}`;
    span.textContent = label;
    const pct = (v, of) => `${((100 * v) / of).toFixed(2)}%`;
    // at most half the thumbnail wide (CSS), from the box's nearer side; a fifth of it to spare above or below
    if (x0 / w < 0.5) span.style.left = pct(x0, w); else span.style.right = pct(w - x1, w);
    if (atBottom ? y1 / h >= 0.2 : y0 / h > 0.8) span.style.bottom = pct(h - y1, h);
    else span.style.top = pct(y0, h);
    labels.append(span);
  };
  for (const obj of (frame.truth && frame.truth.objects) || []) add(obj.box, obj.label, "truth-box", true);
  const boxes = odBoxes(od);
  if (boxes) boxes.bboxes.forEach((box, i) => add(box, boxes.labels[i] || "", "pred-box", false));
}
