// The frames board: each frame's record (link figures, transmitter record, answers) and its card on the page.

import { answerText, drawBoxes } from "./boxes.js";
import { FrameOrder } from "./frame_order.js";

const MAX_CARDS = 8;
const KEPT_FRAMES = 400;
const RENDER_EVERY_MS = 150;
const TASKS = ["<CAPTION>", "<DETAILED_CAPTION>", "<MORE_DETAILED_CAPTION>", "<OD>", "<DENSE_REGION_CAPTION>",
  "<REGION_PROPOSAL>", "<CAPTION_TO_PHRASE_GROUNDING>", "<OCR>"];
const LOSS_TEXT = { corrupted: "lost: every packet corrupted", gap: "lost: no packet arrived" };
const WORLD_NOTE = "This stand-in model knows only the shapes world; this image does not look like one, " +
  "so its answer means little.";

/**
 * At most `limit` calls at once and `waiting` queued; past that the oldest queued call is dropped (its `run`
 * returns null): at a high frame rate the page drops work for old frames, never the tab.
 */
class Gate {
  constructor(limit, waiting = 16) { this.limit = limit; this.waiting = waiting; this.busy = 0; this.queue = []; this.dropped = 0; }
  async run(fn) {
    if (this.busy >= this.limit) {
      if (this.waiting === 0) { this.dropped += 1; return null; }
      if (this.queue.length >= this.waiting) { this.queue.shift()(false); this.dropped += 1; }
      if (!(await new Promise((resolve) => this.queue.push(resolve)))) return null;
    } else this.busy += 1;
    try { return await fn(); } finally {
      const next = this.queue.shift();
      if (next) next(true); else this.busy -= 1;
    }
  }
}

export function sameCaption(a, b) {
  const norm = (s) => String(s).trim().toLowerCase().replace(/[.\s]+$/, "").replace(/\s+/g, " ");
  return norm(a) === norm(b);
}

export class FrameBoard {
  constructor(element, { receiver, transmitter, autoTask, onChange }) {
    this.element = element;
    this.receiver = receiver;
    this.transmitter = transmitter;
    this.autoTask = autoTask;
    this.mainCodec = null;           // the page's own codec (page-config's), set by the page
    this.onChange = onChange;
    this.frames = new Map();         // frame id -> record
    this.order = [];                 // frame ids, oldest first (the newest KEPT_FRAMES)
    this.receivedCount = 0;          // every frame this page has heard of, kept or not
    this.cards = new Map();          // card key -> {element, frames: [ids]}
    this.pins = new Map();           // card key -> its frames, kept on the page (and in memory) until unpinned
    this.localThumbs = new Map();    // frame id -> object URL of an upload or camera frame
    this.gates = { record: new Gate(6, 30), caption: new Gate(4, 12), od: new Gate(2, 4), thumb: new Gate(3, 6), detail: new Gate(3, 6) };
    this.frameOrder = new FrameOrder();  // where each frame's card goes: by frame number, newest first
    this.renderTimer = null;
    this.firstFrameAt = null;        // performance.now() of the first frame shown, and of its first caption
    this.firstCaptionAt = null;
  }

  /** The frames of the last `n` arrivals, oldest first. */
  recent(n) { return this.order.slice(-n).map((id) => this.frames.get(id)); }

  record(id) {
    let frame = this.frames.get(id);
    if (!frame) {
      frame = { id, key: String(id), arrivedAt: performance.now(), answers: [], fetched: {} };
      this.frames.set(id, frame);
      this.order.push(id);
      this.receivedCount += 1;
      while (this.order.length > KEPT_FRAMES) this.forget(this.order.shift());
    }
    return frame;
  }

  forget(id) {
    const frame = this.frames.get(id);
    if (frame && this.pins.has(frame.key)) return; // a pinned card's frame stays until it is unpinned
    const url = this.localThumbs.get(id);
    if (url) URL.revokeObjectURL(url);
    this.localThumbs.delete(id);
    if (frame && frame.thumb && frame.thumb.startsWith("blob:")) URL.revokeObjectURL(frame.thumb);
    this.frames.delete(id);
  }

  /** An image this page posted itself: its preview stands in for the transmitter's thumbnail. */
  posted(id, objectUrl) {
    this.localThumbs.set(id, objectUrl);
    this.frameOrder.ownFrame(id);
    const frame = this.frames.get(id);
    if (frame) { frame.thumb = objectUrl; this.changed(frame); }
  }

  received(ev) {
    if (this.firstFrameAt === null) this.firstFrameAt = performance.now();
    const frame = this.record(ev.frame_id);
    if (!this.mainCodec || ev.codec === this.mainCodec) this.frameOrder.ownFrame(ev.frame_id);
    Object.assign(frame, {
      status: ev.status, codec: ev.codec, wire_bytes: ev.wire_bytes, datagrams: ev.datagrams ?? null,
      datagram_overhead: ev.datagram_overhead ?? 0, packets: ev.packets,
      packets_lost: ev.packets_lost, packets_corrupted: ev.packets_corrupted ?? null,
      link_ms: ev.latency_ms ?? null,
    });
    if (this.localThumbs.has(frame.id)) frame.thumb = this.localThumbs.get(frame.id);
    this.fetchRecord(frame);
    if (this.autoTask !== "<CAPTION>") this.askCaption(frame);
    this.changed(frame);
  }

  lost(ev, kind) {
    const frame = this.record(ev.frame_id);
    Object.assign(frame, { status: kind === "frame_lost" ? "lost" : "rejected", detail: ev.detail || ev.reason,
      loss: ev.loss || null,
      packets_lost: ev.packets_lost ?? frame.packets_lost ?? null, packets: ev.packets ?? frame.packets ?? null });
    this.fetchRecord(frame);
    this.changed(frame);
  }

  taskDone(ev) {
    const frame = this.frames.get(ev.frame_id);
    if (!frame) return;
    if (ev.task === "<CAPTION>" && frame.caption === undefined) this.setCaption(frame, ev.result, ev.latency_ms);
    else if (ev.task === "<OD>" && !frame.od) frame.od = ev.result;
    this.changed(frame);
  }

  setCaption(frame, text, latencyMs) {
    frame.caption = text;
    frame.answer_ms = latencyMs;
    if (this.firstCaptionAt === null) this.firstCaptionAt = performance.now();
  }

  async fetchRecord(frame) {
    if (frame.fetched.record) return;
    frame.fetched.record = true;
    const tx = await this.gates.record.run(() => this.transmitter.json(`/v1/frames/${frame.id}`).catch(() => null));
    if (!tx) { frame.fetched.record = false; return; } // asked again when its card is next drawn
    frame.source = tx.source;
    frame.unlikeWorld = Boolean(tx.unlike_model_world);
    frame.truth = tx.truth || null;
    frame.txCodec = tx.codec || null;
    if (frame.link_ms == null && tx.done_at && tx.sent_at) frame.link_ms = (tx.done_at - tx.sent_at) * 1000;
    this.frameOrder.ownFrame(tx.pair_id ?? frame.id);  // a comparison twin's pair id is its learned frame's
    if (tx.pair_id !== undefined && tx.pair_id !== null) {
      frame.pair_id = tx.pair_id;
      this.rekey(frame, `pair-${tx.pair_id}`);
    }
    this.changed(frame);
  }

  rekey(frame, key) {
    const old = this.cards.get(frame.key);
    if (old) { old.element.remove(); this.cards.delete(frame.key); }
    const pinned = this.pins.get(frame.key);
    if (pinned) { this.pins.delete(frame.key); this.pins.set(key, pinned); }
    frame.key = key;
  }

  /** Pin the card `key` (it stays, with its answers, outside the rolling window) or unpin it. */
  togglePin(key) {
    const card = this.cards.get(key);
    if (this.pins.has(key)) {
      const frames = this.pins.get(key);
      this.pins.delete(key);
      frames.filter((f) => !this.order.includes(f.id)).forEach((f) => this.forget(f.id));
    } else if (card && card.frames) this.pins.set(key, card.frames);
    if (card) card.frames = null; // drawn again
    this.scheduleRender();
  }

  async askCaption(frame) {
    const answer = await this.gates.caption.run(() => this.ask(frame, "<CAPTION>", null).catch(() => null));
    if (answer && frame.caption === undefined) this.setCaption(frame, answer.result, answer.latency_ms);
    if (answer === null && frame.caption === undefined) frame.captionSkipped = true;
    this.changed(frame);
  }

  ask(frame, task, text) {
    return this.receiver.json(`/v1/frames/${frame.id}/tasks`, { method: "POST", json: { task, text, wait_ms: 3000 } });
  }

  /** Work only for frames on screen: thumbnail, boxes, the receiver's detail (corrupted packets, image size). */
  async fillIn(frame) {
    if (!frame.fetched.record) this.fetchRecord(frame);
    if (!frame.fetched.thumb && !frame.thumb) {
      frame.fetched.thumb = true;
      const blob = await this.gates.thumb.run(async () => {
        const r = await this.transmitter.request(`/v1/frames/${frame.id}/thumbnail`).catch(() => null);
        return r && r.ok ? r.blob() : null;
      });
      if (blob && this.frames.has(frame.id)) { frame.thumb = URL.createObjectURL(blob); this.changed(frame); }
      else if (!blob) frame.fetched.thumb = false;
    }
    if (!frame.fetched.detail && frame.status && frame.status !== "lost" && frame.status !== "rejected") {
      frame.fetched.detail = true;
      const detail = await this.gates.detail.run(() => this.receiver.json(`/v1/frames/${frame.id}`).catch(() => null));
      if (detail) {
        frame.image_size = detail.image_size;
        frame.packets_corrupted = detail.packets_corrupted;
        this.changed(frame);
      } else frame.fetched.detail = false;
    }
    if (!frame.fetched.od && !frame.od && frame.status && frame.status !== "lost" && frame.status !== "rejected") {
      frame.fetched.od = true;
      const answer = await this.gates.od.run(() => this.ask(frame, "<OD>", null).catch(() => null));
      if (answer) { frame.od = answer.result; this.changed(frame); } else frame.fetched.od = false;
    }
  }

  /** Right (true), wrong (false) or unknown (null): exact match with truth, else agreement with the reference. */
  quality(frame) {
    if (frame.caption === undefined) return null;
    if (frame.truth && frame.truth.caption) return sameCaption(frame.caption, frame.truth.caption);
    if (frame.pair_id !== undefined) {
      const partner = this.recent(KEPT_FRAMES).find((f) => f && f.pair_id === frame.pair_id && f.id !== frame.id);
      if (partner && partner.caption !== undefined) return sameCaption(frame.caption, partner.caption);
    }
    return null;
  }

  changed(frame) {
    frame.dirty = true;
    this.scheduleRender();
  }

  scheduleRender() {
    if (this.renderTimer === null) this.renderTimer = setTimeout(() => this.render(), RENDER_EVERY_MS);
  }

  render() {
    this.renderTimer = null;
    // the newest MAX_CARDS cards by frame number among the last arrivals, with both twins of a comparison pair
    const newest = this.frameOrder.newestCards(this.recent(3 * MAX_CARDS), MAX_CARDS);
    const keys = newest.map(([key]) => key);
    const byKey = new Map(newest);
    // pinned cards first, kept whether or not their frames are still among the newest
    for (const [key, frames] of this.pins) {
      if (byKey.has(key)) this.pins.set(key, byKey.get(key)); else byKey.set(key, [...frames]);
    }
    const shown = [...this.pins.keys(), ...keys.filter((key) => !this.pins.has(key))];
    for (const [key, card] of this.cards) if (!byKey.has(key)) { card.element.remove(); this.cards.delete(key); }
    let previous = null;
    for (const key of shown) {
      let card = this.cards.get(key);
      const frames = byKey.get(key).sort((a, b) => (isReference(a) - isReference(b)) || a.id - b.id);
      if (!card) { card = { element: this.newCard(key) }; this.cards.set(key, card); }
      card.element.classList.toggle("pinned", this.pins.has(key));
      const pin = card.element.querySelector("button.pin");
      pin.setAttribute("aria-pressed", String(this.pins.has(key)));
      pin.textContent = this.pins.has(key) ? "Unpin" : "Pin";
      const want = previous ? previous.nextSibling : this.element.firstChild;
      if (card.element !== want) this.element.insertBefore(card.element, want);
      previous = card.element;
      if (!card.frames || frames.some((f) => f.dirty) || frames.length !== card.frames.length) {
        card.frames = frames;
        this.fillCard(card.element, frames);  // on the page: its labels are placed by their measured size
        frames.forEach((f) => { f.dirty = false; this.fillIn(f); });
      }
    }
    this.onChange();
  }

  newCard(key) {
    const article = document.createElement("article");
    article.className = "card";
    article.dataset.key = key;
    article.innerHTML = `<div class="thumb"><img alt=""><svg class="boxes" aria-hidden="true"></svg>
      <div class="box-labels" aria-hidden="true"></div><span class="no-thumb muted small">no thumbnail yet</span>
      </div><div class="variants"></div><button class="pin small" type="button" aria-pressed="false">Pin</button>
      <p class="world-note small" hidden>${WORLD_NOTE}</p>`;
    article.querySelector("button.pin").addEventListener("click", () => this.togglePin(article.dataset.key));
    return article;
  }

  fillCard(article, frames) {
    const main = frames[0];
    article.dataset.frameIds = frames.map((f) => f.id).join(" ");
    article.classList.toggle("pair", frames.length > 1);
    const img = article.querySelector("img");
    const thumb = frames.map((f) => f.thumb).find(Boolean);
    if (thumb && img.getAttribute("src") !== thumb) img.src = thumb;
    img.alt = `frame ${main.id} as sent`;
    article.querySelector(".no-thumb").hidden = Boolean(thumb);
    const asked = frames.filter((f) => f.odAskedAt).sort((a, b) => b.odAskedAt - a.odAskedAt)[0];
    drawBoxes(article.querySelector(".thumb"), main, (asked || main).od, img);
    article.querySelector(".world-note").hidden = !frames.some((f) => f.unlikeWorld);
    const variants = article.querySelector(".variants");
    while (variants.children.length < frames.length) variants.append(this.newVariant());
    while (variants.children.length > frames.length) variants.lastChild.remove();
    frames.forEach((frame, i) => this.fillVariant(variants.children[i], frame));
  }

  newVariant() {
    const div = document.createElement("div");
    div.className = "variant";
    const id = `ask-${Math.random().toString(36).slice(2, 9)}`;
    div.innerHTML = `<p class="codec small"></p><p class="caption"></p><p class="truth small"></p>
      <form class="ask"><label for="${id}" class="visually-hidden">task</label>
      <select id="${id}" class="task">${TASKS.map((t) => `<option>${escapeHtml(t)}</option>`).join("")}</select>
      <label for="${id}-text" class="visually-hidden">text input for the task</label>
      <input id="${id}-text" class="task-text" type="text" placeholder="text (grounding)" size="12">
      <button type="submit">Ask again</button></form><ol class="answers small"></ol>`;
    div.querySelector("form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.askAgain(Number(div.dataset.frameId), div.querySelector(".task").value, div.querySelector(".task-text").value);
    });
    return div;
  }

  async askAgain(id, task, text) {
    const frame = this.frames.get(id);
    if (!frame) return;
    try {
      const answer = await this.ask(frame, task, text || null);
      frame.answers.unshift({ task, result: answer.result, ms: answer.latency_ms });
      if (task === "<OD>") { frame.od = answer.result; frame.odAskedAt = performance.now(); }
    } catch (err) {
      frame.answers.unshift({ task, error: err.message });
    }
    frame.answers.length = Math.min(frame.answers.length, 4);
    this.changed(frame);
  }

  fillVariant(div, frame) {
    div.dataset.frameId = frame.id;
    div.dataset.codec = frame.codec || frame.txCodec || "";
    const lost = frame.packets != null ? `${frame.packets_lost ?? "?"}/${frame.packets} lost` : "";
    const corrupted = frame.packets_corrupted != null ? `, ${frame.packets_corrupted} corrupted` : "";
    const ms = [frame.link_ms != null ? `link ${frame.link_ms.toFixed(0)} ms` : "",
      frame.answer_ms != null ? `answer ${frame.answer_ms.toFixed(0)} ms` : ""].filter(Boolean).join(" · ");
    div.querySelector(".codec").textContent = [`#${frameNumber(frame)}`, codecName(frame),
      frame.wire_bytes != null ? wireText(frame) : "", lost + corrupted, ms,
      frame.source || ""].filter(Boolean).join(" · ");
    const caption = div.querySelector(".caption");
    if (frame.status === "lost" || frame.status === "rejected") {
      caption.textContent = LOSS_TEXT[frame.loss] || `${frame.status}: ${frame.detail || ""}`;
      caption.title = frame.detail || "";
      caption.className = "caption error";
    } else {
      caption.textContent = frame.caption !== undefined ? frame.caption
        : frame.captionSkipped ? "(caption skipped: receiver busy)" : "…";
      caption.className = frame.caption !== undefined ? "caption answered" : "caption";
      caption.title = "";
    }
    const truth = div.querySelector(".truth");
    const right = this.quality(frame);
    if (frame.truth && frame.truth.caption) {
      truth.textContent = `truth: ${frame.truth.caption} ${right === null ? "" : right ? "✓" : "✗"}`;
    } else if (right !== null) {
      truth.textContent = right ? "✓ agrees with the reference" : "✗ differs from the reference";
    } else truth.textContent = "";
    truth.dataset.right = right === null ? "" : String(right);
    const answers = div.querySelector(".answers");
    answers.replaceChildren(...frame.answers.map((a) => {
      const li = document.createElement("li");
      li.textContent = `${a.task} ${a.error ? "failed: " + a.error : answerText(a.task, a.result)}`;
      return li;
    }));
  }
}

function isReference(frame) {
  const codec = frame.codec || frame.txCodec || "";
  return codec !== "" && codec !== "learned" && frame.pair_id !== undefined ? 1 : 0;
}

/** The codec as the transmitter named it, and the receiver's id when that differs: "avif:20 (pixels-avif)". */
/** "1,234 wire B", with the transport's part when the link counts one: "1,394 wire B (4 × 40 B transport)". */
function wireText(frame) {
  // a packed frame's figures are its share of its group's: shown to two decimals at most
  const round = (n) => n.toLocaleString("en-US", { maximumFractionDigits: 2 });
  const transport = frame.datagram_overhead && frame.datagrams != null
    ? ` (${round(frame.datagrams)} × ${frame.datagram_overhead} B transport)` : "";
  return `${round(frame.wire_bytes)} wire B${transport}`;
}

function codecName(frame) {
  const tx = frame.txCodec || "";
  const rx = frame.codec || "";
  return tx && rx && tx !== rx ? `${tx} (${rx})` : rx || tx;
}

/** The number a card shows for a frame: its sequence number, and for a comparison twin its learned frame's, so
 * both halves of a card name the one source frame. */
function frameNumber(frame) {
  return (frame.pair_id ?? frame.id) % 2 ** 32;
}

function escapeHtml(text) {
  return text.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
}
