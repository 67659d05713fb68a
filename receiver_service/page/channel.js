// The channel controls: the form PUTs /v1/channel on channel_sim; its stats show what was realised next to what was asked.

const $ = (id) => document.getElementById(id);

/** Gilbert–Elliott (loss in the bad state only) for a mean loss rate and a mean burst length, in netem's p and r. */
export function gilbertElliott(rate, burst) {
  const r = Math.min(1, 1 / Math.max(burst, 1));
  const p = rate >= 1 ? 1 : Math.min(1, (rate * r) / (1 - rate));
  return { ge_p: p, ge_r: r, ge_h: 0, ge_k: 1 };
}

function numberOrNull(input) {
  return input.value.trim() === "" ? null : Number(input.value);
}

export class ChannelPanel {
  constructor(channel) {
    this.channel = channel;
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
      const rate = ge ? spec.expected_loss_rate : spec.loss;
      $("loss-rate").value = rate;
      $("loss-rate-out").value = Number(rate).toFixed(2);
      if (ge && spec.ge_r > 0) $("burst").value = (1 / spec.ge_r).toFixed(1);
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
    $("realised-wire").textContent = `${(wire.in ?? 0).toLocaleString()} (${((wire.in ?? 0) - (bare.in ?? 0)).toLocaleString()} transport)`;
  }
}

/** Select the channel's overhead, adding an option for a value set outside the presets (SEMLINK_CH_DATAGRAM_OVERHEAD). */
function showOverhead(select, bytes) {
  if (![...select.options].some((o) => Number(o.value) === bytes)) select.add(new Option(`${bytes} B`, String(bytes)));
  select.value = String(bytes);
}

function pct(x) {
  return x === null || x === undefined || !Number.isFinite(x) ? "–" : `${(100 * x).toFixed(1)} %`;
}
