// The headline: what this stream's frames cost on the wire, against fp16 features and the running reference.

/** A frame every packet of which arrived: its wire bytes are what was sent for it. */
function whole(frame) {
  return frame && frame.status === "ok" && frame.packets_lost === 0 && Number.isFinite(frame.wire_bytes);
}

/** The share of a datagram each of a frame's packets cost: 1 sent alone, 1/K packed K frames a group. */
function packedShare(frame) {
  return frame.packets > 0 && frame.datagrams > 0 ? Math.min(1, frame.datagrams / frame.packets) : 1;
}

function mean(values) { return values.reduce((a, b) => a + b, 0) / values.length; }

function bytes(n) { return `${Math.round(n).toLocaleString("en-US")} B`; }

/** "1/206" for a small share, "0.73×" near one, "12×" for more. */
function share(part, whole_) {
  const r = part / whole_;
  if (r < 0.5) return `1/${Math.round(whole_ / part).toLocaleString("en-US")}`;
  return `${r < 10 ? r.toFixed(2) : Math.round(r)}×`;
}

/**
 * `config`: /v1/page-config (the codec's name, fp16_frame_bytes and _datagrams: one frame of these features as
 * uncompressed fp16, without transport). Each frame compared pays its own transport per datagram. `comparison`:
 * the transmitter's GET /v1/comparison as the page last read it (null until it has): the reference is compared
 * only while comparison is on, over pairs with the reference in use, though older pairs are still among `main`.
 */
export function headline(config, main, references, comparison) {
  const frames = main.filter(whole);
  if (!frames.length) return null;
  const codec = config.codec;
  const sent = mean(frames.map((f) => f.wire_bytes));
  const figures = { codec, frames: frames.length, bytes: Math.round(sent) };
  const parts = [`${codec}: ${bytes(sent)} a frame`];
  const notes = [`mean of the last ${frames.length} frames that arrived whole`];
  if (config.fp16_frame_bytes) {
    // packed alike: a frame sent in a group pays its share of the group's datagrams (datagrams / packets), so would fp16
    const fp16 = mean(frames.map((f) => config.fp16_frame_bytes
      + (f.datagram_overhead || 0) * config.fp16_frame_datagrams * packedShare(f)));
    figures.fp16 = Math.round(fp16);
    parts.push(`${share(sent, fp16)} of fp16 features (${bytes(fp16)})`);
    notes.push("fp16: these features uncompressed, 2 B an element, in the same datagram framing");
  }
  if (comparison) figures.comparison = comparison.enabled ? "on" : "off";
  if (!comparison || !comparison.enabled) {
    if (comparison) notes.push("turn Comparison on to measure a pixel codec on the same frames");
    return { parts, note: notes.join("; "), figures };
  }
  const name = (r) => r.txCodec || r.codec;
  let pairs = frames.map((f) => [f, references.get(f.pair_id ?? f.id)]).filter(([, r]) => whole(r));
  // the reference in use now (the latest paired, if the page has not read its name), not one used before
  const inUse = comparison.reference || (pairs.length ? name(pairs[pairs.length - 1][1]) : null);
  pairs = pairs.filter(([, r]) => name(r) === inUse);
  if (pairs.length) {
    const ours = mean(pairs.map(([f]) => f.wire_bytes)), theirs = mean(pairs.map(([, r]) => r.wire_bytes));
    Object.assign(figures, { reference: inUse, reference_bytes: Math.round(theirs), pairs: pairs.length,
      paired_bytes: Math.round(ours) });
    parts.push(`${share(ours, theirs)} of ${inUse} on the same frames (${bytes(ours)} against its ${bytes(theirs)})`);
    notes.push(`${inUse}: the comparison reference, ${pairs.length} pairs that both arrived whole`);
  } else {
    notes.push(`comparison with ${inUse || "the reference"} on: waiting for the first pair that arrived whole, both halves`);
  }
  return { parts, note: notes.join("; "), figures };
}

/** Show the headline (hidden until a frame arrived whole); its figures also as data-* for tests and tools. */
export function showHeadline(element, result) {
  element.hidden = result === null;
  if (result === null) return;
  const strong = document.createElement("strong");
  strong.textContent = result.parts.join(" · ");
  const note = document.createElement("span");
  note.className = "muted small";
  note.textContent = ` (${result.note})`;
  element.replaceChildren(strong, note);
  element.title = result.note;
  for (const key of Object.keys(element.dataset)) delete element.dataset[key];
  for (const [key, value] of Object.entries(result.figures)) {
    element.dataset[key.replace(/_(\w)/g, (_, c) => c.toUpperCase())] = value;
  }
}
