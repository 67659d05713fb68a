// The live page: finds the three services, follows the receiver's events, polls channel_sim, draws charts.

import { Service, apiToken, serviceBase, tokens } from "./api.js";
import { ChannelPanel } from "./channel.js";
import { LineChart } from "./chart.js";
import { FrameBoard } from "./frames.js";
import { headline, showHeadline } from "./headline.js";
import { followEvents } from "./sse.js";
import { SourcesPanel } from "./sources.js";

const CHART_FRAMES = 60;
const POLL_MS = 1000;
const $ = (id) => document.getElementById(id);

/** The pills and the one banner: services the page cannot reach, or the API token it needs (with a field for it). */
function showServices() {
  const services = Object.values(window.semlink.services);
  for (const service of services) {
    const pill = $(`svc-${service.key}`);
    const state = service.needsToken ? "token" : tokens.needed && service.up !== true ? "waiting"
      : service.up ? "up" : service.up === false ? "down" : "unknown";
    pill.dataset.state = state;
    pill.textContent = service.name + ({ token: ": needs token", waiting: ": waits for the token" }[state] || "");
    pill.title = { up: `${service.name}: ${service.base}`, token: service.detail, unknown: "" }[state] ??
      (state === "waiting" ? "not asked until the page has the API token" : service.detail);
  }
  const down = services.filter((s) => s.up === false && !s.needsToken);
  const lines = down.map((s) => `${s.detail}; retrying…`);
  if (tokens.needed) {
    const refused = [...tokens.refusedBy].filter((name) => services.some((s) => s.name === name && s.triedToken));
    lines.unshift(refused.length ? `${refused.join(", ")} refused that token: enter the right one.`
      : "The services need their API token (SEMLINK_*_API_TOKEN): enter it here, or open the page as " +
        `${location.pathname}?token=<token>.`);
  }
  $("banner").hidden = lines.length === 0;
  $("banner-text").textContent = lines.join(" · ");
  $("token-form").hidden = !tokens.needed;
}

/** The token field: a token typed in is kept for this tab and every waiting request goes ahead with it. */
function takeToken(services) {
  $("token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const token = $("token-input").value.trim();
    if (!token) return;
    $("token-input").value = "";
    for (const service of Object.values(services)) { service.triedToken = true; service.mark(null); }
    tokens.give(token);
  });
  tokens.onChange(showServices);
}

function makeService(key, name, base) {
  const service = new Service(name, base, showServices);
  service.key = key;
  return service;
}

async function pageConfig(receiver) {
  for (;;) {
    try {
      return await receiver.json("/v1/page-config", { open: true });
    } catch (err) {
      $("model-line").textContent = `waiting for the receiver: ${err.message}`;
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
}

const percent = { fixedMax: 1, unit: "%", format: (v) => (100 * v).toFixed(0), tick: (v) => (100 * v).toFixed(0) };

function makeCharts() {
  const parent = $("charts");
  return {
    bytes: new LineChart(parent, "wire bytes per frame", { unit: "B", logWhenSpread: true }),
    loss: new LineChart(parent, "packet loss", percent),
    quality: new LineChart(parent, "answer right (truth) or agreeing (reference), last 10", percent),
    latency: new LineChart(parent, "latency: link + answer", { unit: "ms" }),
  };
}

/** The wire-bytes chart's title says what the bytes include: the transport per datagram the link counted. */
function bytesTitle(frames) {
  const overheads = [...new Set(frames.map((f) => f.datagram_overhead).filter((v) => v != null))].sort((a, b) => a - b);
  if (!overheads.some((v) => v > 0)) return "wire bytes per frame";
  return `wire bytes per frame, incl. ${overheads.join(" / ")} B transport per datagram`;
}

/** A comparison send's reference frame (pair_id set, another codec than the page's own). */
function isReference(frame, mainCodec) {
  const codec = frame.codec || frame.txCodec;
  return frame.pair_id !== undefined && frame.pair_id !== null && Boolean(codec) && codec !== mainCodec;
}

function referenceName(frame) { return frame.txCodec || frame.codec; }

function drawCharts(charts, board, config, comparison) {
  const recent = board.recent(CHART_FRAMES);
  const frames = recent.filter((f) => !isReference(f, board.mainCodec));
  const references = new Map(board.recent(3 * CHART_FRAMES).filter((f) => isReference(f, board.mainCodec))
    .map((f) => [f.pair_id, f]));
  const xs = frames.map((f) => f.id % 2 ** 32);
  charts.bytes.retitle(bytesTitle(frames));
  const bytes = { [board.mainCodec]: frames.map((f) => f.wire_bytes ?? null) };
  const paired = frames.map((f) => references.get(f.pair_id ?? f.id));
  for (const name of new Set(paired.filter(Boolean).map(referenceName))) {  // one line per reference used
    bytes[name] = paired.map((r) => (r && referenceName(r) === name ? r.wire_bytes ?? null : null));
  }
  charts.bytes.draw(bytes, xs);
  charts.loss.draw({
    "this frame's packets": frames.map((f) => (f.status === "lost" ? 1 : f.packets ? (f.packets_lost ?? 0) / f.packets : null)),
    "channel's realised": frames.map((f) => f.channel_loss ?? null),
  }, xs);
  const right = frames.map((f) => board.quality(f));
  charts.quality.draw({
    quality: right.map((_, i) => {
      const window = right.slice(Math.max(0, i - 9), i + 1).filter((v) => v !== null);
      return window.length ? window.filter(Boolean).length / window.length : null;
    }),
  }, xs);
  charts.latency.draw({ latency: frames.map((f) => (f.answer_ms != null ? (f.link_ms ?? 0) + f.answer_ms : null)) }, xs);
  showHeadline($("headline"), headline(config, frames, references, comparison));
  $("frame-count").textContent = `(${board.receivedCount.toLocaleString()} received)`;
}

/** Frames the receiver got before the page subscribed (its events have no replay): the most recent, oldest first. */
async function backfill(receiver, board) {
  try {
    const recent = await receiver.json("/v1/frames?limit=8");
    recent.sort((a, b) => b.age_s - a.age_s).forEach((summary) => {
      if (!board.frames.has(summary.frame_id)) board.received(summary);
    });
  } catch { /* the event stream carries on; the next frames will show */ }
}

async function main() {
  const receiver = makeService("receiver", "receiver", location.origin);
  const services = { receiver };
  window.semlink = { services, started: performance.now() };
  const config = await pageConfig(receiver);
  services.transmitter = makeService("transmitter", "transmitter", serviceBase(config.transmitter_url, 8001));
  services.channel = makeService("channel", "channel_sim", serviceBase(config.channel_url, 8002));
  $("model-line").textContent = `model ${config.model} · codec ${config.codec}`;
  takeToken(services);
  if (matchMedia("(max-width: 600px)").matches) $("channel-more").open = false;  // a phone: the channel's strip only
  if (config.token_required && !apiToken()) {
    receiver.mark(null, "the receiver's /v1 routes need the API token", true);
    tokens.require("receiver");
  }
  showServices();

  const charts = makeCharts();
  let charting = null;
  let sources = null;
  const redraw = () => {
    charting ??= requestAnimationFrame(() => { charting = null; drawCharts(charts, board, config, sources?.comparison ?? null); });
  };
  const board = new FrameBoard($("frames"), {
    receiver, transmitter: services.transmitter, autoTask: config.auto_task, onChange: redraw,
  });
  board.mainCodec = config.codec;
  window.semlink.board = board;
  const channel = new ChannelPanel(services.channel);
  sources = new SourcesPanel(services.transmitter, board, redraw);  // the headline follows comparison mode

  followEvents(receiver, "/v1/events", (type, data) => {
    if (type === "frame_received") {
      board.received(data);
      board.frames.get(data.frame_id).channel_loss = channel.lastRealised ?? null;
    } else if (type === "frame_lost" || type === "frame_rejected") board.lost(data, type);
    else if (type === "task_done") board.taskDone(data);
  }, { onOpen: () => { receiver.mark(true); backfill(receiver, board); } });

  let channelLoaded = false;
  const poll = async () => {
    if (tokens.needed) return;  // nothing is asked until the page has a token the services take
    if (!config.fp16_frame_bytes) {  // null while the receiver's model loads
      Object.assign(config, await receiver.json("/v1/page-config", { open: true }).catch(() => ({})));
    }
    try {
      if (!channelLoaded) { await channel.load(); channelLoaded = true; }
      const stats = await services.channel.json("/v1/stats");
      channel.lastRealised = stats.realised_loss_rate;
      channel.showStats(stats);
    } catch { channelLoaded = false; }
    await sources.load();
  };
  poll();
  setInterval(poll, POLL_MS);
}

main();
