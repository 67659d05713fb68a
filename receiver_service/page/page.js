// The live page: finds the three services, follows the receiver's events, polls channel_sim, draws charts.

import { Service, serviceBase } from "./api.js";
import { ChannelPanel } from "./channel.js";
import { LineChart } from "./chart.js";
import { FrameBoard } from "./frames.js";
import { followEvents } from "./sse.js";
import { SourcesPanel } from "./sources.js";

const CHART_FRAMES = 60;
const POLL_MS = 1000;
const $ = (id) => document.getElementById(id);

function showService(service) {
  const pill = $(`svc-${service.key}`);
  pill.dataset.state = service.up ? "up" : "down";
  pill.title = service.up ? `${service.name}: ${service.base}` : service.detail;
  const down = Object.values(window.semlink.services).filter((s) => s.up === false);
  const banner = $("banner");
  banner.hidden = down.length === 0;
  banner.textContent = down.map((s) => `${s.detail}; retrying…`).join(" · ");
}

function makeService(key, name, base) {
  const service = new Service(name, base, showService);
  service.key = key;
  return service;
}

async function pageConfig(receiver) {
  for (;;) {
    try {
      return await receiver.json("/v1/page-config");
    } catch (err) {
      $("model-line").textContent = `waiting for the receiver: ${err.message}`;
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
}

function makeCharts() {
  const parent = $("charts");
  return {
    bytes: new LineChart(parent, "wire bytes per frame", { unit: " B" }),
    loss: new LineChart(parent, "packet loss: per frame, channel's realised", { fixedMax: 1, format: (v) => `${(100 * v).toFixed(0)}%` }),
    quality: new LineChart(parent, "answer right (truth) or agreeing (reference), last 10", { fixedMax: 1, format: (v) => `${(100 * v).toFixed(0)}%` }),
    latency: new LineChart(parent, "latency: link + answer", { unit: " ms" }),
  };
}

/** The wire-bytes chart's title says what the bytes include: the transport per datagram the link counted. */
function bytesTitle(frames) {
  const overheads = [...new Set(frames.map((f) => f.datagram_overhead).filter((v) => v != null))].sort((a, b) => a - b);
  if (!overheads.some((v) => v > 0)) return "wire bytes per frame";
  return `wire bytes per frame, incl. ${overheads.join(" / ")} B transport per datagram`;
}

function drawCharts(charts, board) {
  const frames = board.recent(CHART_FRAMES).filter((f) => !f.pair_id || !f.codec || f.codec === board.mainCodec);
  charts.bytes.retitle(bytesTitle(frames));
  charts.bytes.draw({ bytes: frames.map((f) => f.wire_bytes ?? null) });
  charts.loss.draw({
    frame: frames.map((f) => (f.status === "lost" ? 1 : f.packets ? (f.packets_lost ?? 0) / f.packets : null)),
    channel: frames.map((f) => f.channel_loss ?? null),
  });
  const right = frames.map((f) => board.quality(f));
  charts.quality.draw({
    quality: right.map((_, i) => {
      const window = right.slice(Math.max(0, i - 9), i + 1).filter((v) => v !== null);
      return window.length ? window.filter(Boolean).length / window.length : null;
    }),
  });
  charts.latency.draw({ latency: frames.map((f) => (f.answer_ms != null ? (f.link_ms ?? 0) + f.answer_ms : null)) });
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

  const charts = makeCharts();
  let charting = null;
  const board = new FrameBoard($("frames"), {
    receiver, transmitter: services.transmitter, autoTask: config.auto_task,
    onChange: () => { charting ??= requestAnimationFrame(() => { charting = null; drawCharts(charts, board); }); },
  });
  board.mainCodec = config.codec;
  window.semlink.board = board;
  const channel = new ChannelPanel(services.channel);
  const sources = new SourcesPanel(services.transmitter, board);

  followEvents(receiver, "/v1/events", (type, data) => {
    if (type === "frame_received") {
      board.received(data);
      board.frames.get(data.frame_id).channel_loss = channel.lastRealised ?? null;
    } else if (type === "frame_lost" || type === "frame_rejected") board.lost(data, type);
    else if (type === "task_done") board.taskDone(data);
  }, { onOpen: () => { receiver.mark(true); backfill(receiver, board); } });

  let channelLoaded = false;
  const poll = async () => {
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
