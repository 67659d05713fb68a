// The channel controls: the form PUTs /v1/channel on channel_sim; its stats show what was realised next to what was asked.

const $ = (id) => document.getElementById(id);
const RECENT_S = 10;  // the window of the "last 10 s" figures beside the totals since start or reset

/** Gilbert–Elliott (loss in the bad state only) for a mean loss rate and a mean burst length, in netem's p and r. */
export function gilbertElliott(rate, burst) {
  const r = Math.min(1, 1 / Math.max(burst, 1));
  const p = rate >= 1 ? 1 : Math.min(1, (rate * r) / (1 - rate));
  return { ge_p: p, ge_r: r, ge_h: 0, ge_k: 1 };
}

function numberOrNull(input) {
  return input.value.trim() === "" ? null : Number(input.value);
}

/** The channel's counts over the last `seconds`, from successive polls of its since-reset totals. */
export class RecentWindow {
  constructor(seconds = RECENT_S) { this.seconds = seconds; this.samples = []; }

  /** Add one poll's totals; the window's {packets, dropped, corrupted, bits, flipped, seconds}, or null before two. */
  add(stats, now = performance.now()) {
    const p = stats.packets || {}, b = stats.bits || {};
    const sample = { at: now, in: p.in ?? 0, dropped: p.dropped ?? 0, corrupted: p.corrupted ?? 0,
      bits: b.total ?? 0, flipped: b.flipped ?? 0 };
    const last = this.samples[this.samples.length - 1];
    if (last && sample.in < last.in) this.samples = [];  // the counts were reset
    this.samples.push(sample);
    while (this.samples.length > 2 && now - this.samples[1].at >= this.seconds * 1000) this.samples.shift();
    const first = this.samples[0];
    if (this.samples.length < 2) return null;
    return { packets: sample.in - first.in, dropped: sample.dropped - first.dropped,
      corrupted: sample.corrupted - first.corrupted, bits: sample.bits - first.bits,
      flipped: sample.flipped - first.flipped, seconds: (now - first.at) / 1000 };
  }
}

export class ChannelPanel {
  constructor(channel) {
    this.channel = channel;
    this.recent = new RecentWindow();
    this.spec = null;
    this.timer = null;
    const form = $("channel-form");
    form.addEventListener("input", (event) => {
      if (event.target.id === "loss-rate") $("loss-rate-out").value = Number(event.target.value).toFixed(2);
      this.schedulePut();
    });
    form.addEventListener("change", () => this.schedulePut());
    form.addEventListener("submit", (event) => event.preventDefault());
    $("channel-reset").addEventListener("click", () => this.reset());
  }

  /** What the form asks for, as a PUT /v1/channel body. */
  body() {
    const model = $("loss-model").value;
    const rate = Number($("loss-rate").value);
    const body = { loss_model: model, loss: 0, ge_p: 0, ge_r: 1, ge_h: 0, ge_k: 1 };
    if (model === "bernoulli") body.loss = rate;
    if (model === "gilbert_elliott") Object.assign(body, gilbertElliott(rate, Number($("burst").value) || 1));
    if (model === "none" && rate > 0) { body.loss_model = "bernoulli"; body.loss = rate; }
    body.snr_db = numberOrNull($("snr-db"));
    body.ber = body.snr_db === null ? numberOrNull($("ber")) : null;
    for (const [id, name] of [["delay-ms", "delay_ms"], ["jitter-ms", "jitter_ms"], ["rate-kbps", "rate_kbps"],
      ["duplicate", "duplicate"], ["reorder", "reorder"]]) body[name] = Number($(id).value) || 0;
    body.datagram_overhead = Number($("datagram-overhead").value) || 0;
    return body;
  }

  schedulePut() {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.put(), 200);
  }

  async put() {
    try {
      this.show(await this.channel.json("/v1/channel", { method: "PUT", json: this.body() }), false);
      $("channel-error").textContent = "";
    } catch (err) {
      $("channel-error").textContent = err.detail || err.message;
    }
  }

  async reset() {
    try {
      this.show(await this.channel.json("/v1/channel/reset", { method: "POST" }), true);
      $("channel-error").textContent = "";
    } catch (err) {
      $("channel-error").textContent = err.detail || err.message;
    }
  }

  /** Load the channel as it is (at start and after a restart of channel_sim). */
  async load() {
    this.show(await this.channel.json("/v1/channel"), true);
  }

  show(spec, fillForm) {
    this.spec = spec;
    if (fillForm) {
      const ge = spec.loss_model === "gilbert_elliott";
      $("loss-model").value = spec.loss_model;
      // a range input given a value it cannot show sits at its midpoint (0.45) and jumps there when clicked:
      // always a finite number within its min/max
      const slider = $("loss-rate");
      const rate = finiteOr(ge ? spec.expected_loss_rate : spec.loss, 0);
      slider.value = String(Math.min(Number(slider.max), Math.max(Number(slider.min), rate)));
      $("loss-rate-out").value = Number(slider.value).toFixed(2);
      $("burst").value = ge && spec.ge_r > 0 ? (1 / spec.ge_r).toFixed(1) : $("burst").defaultValue;
      $("snr-db").value = spec.snr_db ?? "";
      $("ber").value = spec.snr_db === null && spec.ber !== null ? spec.ber : "";
      $("delay-ms").value = spec.delay_ms;
      $("jitter-ms").value = spec.jitter_ms;
      $("rate-kbps").value = spec.rate_kbps;
      $("duplicate").value = spec.duplicate;
      $("reorder").value = spec.reorder;
      showOverhead($("datagram-overhead"), spec.datagram_overhead ?? 0);
    }
    $("asked-loss").textContent = `${pct(spec.expected_loss_rate)} (${spec.loss_model})`;
    $("asked-ber").textContent = spec.effective_ber ? spec.effective_ber.toExponential(1) : "0";
    $("asked-delay").textContent = `${spec.delay_ms} ± ${spec.jitter_ms}`;
    $("asked-dup").textContent = `${pct(spec.duplicate)} / ${pct(spec.reorder)}`;
    $("asked-transport").textContent = `${spec.datagram_overhead ?? 0} B`;
  }

  showStats(stats) {
    const frames = stats.frames || {};
    const p = stats.packets || {};
    $("realised-loss").textContent = pct(stats.realised_loss_rate);
    $("realised-ber").textContent = stats.realised_ber ? stats.realised_ber.toExponential(1) : "0";
    $("realised-delay").textContent = stats.delay ? stats.delay.mean_ms.toFixed(1) : "–";
    const n = frames.in || 0;
    $("realised-dup").textContent = n ? `${pct(frames.duplicated / n)} / ${pct(frames.reordered / n)}` : "–";
    $("realised-packets").textContent = `${p.in ?? 0} / ${p.dropped ?? 0} / ${p.corrupted ?? 0}`;
    const wire = stats.wire_bytes || {}, bare = stats.datagram_bytes || {};
    const recent = this.recent.add(stats);
    const span = `last ${Math.round(recent ? recent.seconds : this.recent.seconds)} s`;
    $("recent-title").textContent = span;
    $("recent-loss").textContent = recent && recent.packets ? pct(recent.dropped / recent.packets) : "–";
    $("recent-ber").textContent = recent && recent.bits ? (recent.flipped / recent.bits).toExponential(1) : "–";
    $("recent-packets").textContent = recent ? `${recent.packets} / ${recent.dropped} / ${recent.corrupted}` : "–";
    $("realised-wire").textContent = `${(wire.in ?? 0).toLocaleString()} (${((wire.in ?? 0) - (bare.in ?? 0)).toLocaleString()} transport)`;
  }
}

/** Select the channel's overhead, adding an option for a value set outside the presets (SEMLINK_CH_DATAGRAM_OVERHEAD). */
function showOverhead(select, bytes) {
  if (![...select.options].some((o) => Number(o.value) === bytes)) select.add(new Option(`${bytes} B`, String(bytes)));
  select.value = String(bytes);
}

function finiteOr(x, fallback) {
  const n = Number(x);
  return x === null || x === undefined || !Number.isFinite(n) ? fallback : n;
}

function pct(x) {
  return x === null || x === undefined || !Number.isFinite(x) ? "–" : `${(100 * x).toFixed(1)} %`;
}
