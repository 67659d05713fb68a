// The sources: the transmitter's shapes stream (GET/PUT /v1/source), uploads by drag and drop, the camera, comparison mode.

const $ = (id) => document.getElementById(id);

/** How the transmitter puts frames on the link, from its /v1/stats `pack` and `spread`. */
export function sendingText(pack, spread) {
  if (pack && pack.size > 1) {
    return `sending: ${pack.size} frames a group of datagrams, datagram j holding slice j of each (a frame pays ` +
      `1/${pack.size} of each datagram's headers and waits for its group, at most ${pack.wait_ms} ms)`;
  }
  if (spread && spread.slots > 0) {
    return `sending: each frame's datagram j ${spread.slots}·j frames after its first, between other frames' ` +
      "(a loss burst takes slices of several frames, not a whole one; the last datagrams wait)";
  }
  return "sending: each frame's datagrams back to back";
}

export class SourcesPanel {
  constructor(transmitter, board, onComparison = () => {}) {
    this.transmitter = transmitter;
    this.board = board;
    this.comparison = null;  // GET /v1/comparison as last read or set ({enabled, reference, offered}), null if unknown
    this.onComparison = onComparison;
    this.source = null;
    this.camera = null;
    this.cameraTimer = null;
    $("shapes-toggle").addEventListener("click", () => this.toggleShapes());
    $("shapes-fps").addEventListener("change", () => {
      if (this.source && this.source.kind === "shapes") this.putSource({ kind: "shapes", fps: this.fps(), paused: this.source.paused });
    });
    const zone = $("drop-zone");
    const input = $("file-input");
    zone.addEventListener("click", () => input.click());
    zone.addEventListener("keydown", (event) => {
      if (event.key === "Enter" || event.key === " ") { event.preventDefault(); input.click(); }
    });
    zone.addEventListener("dragover", (event) => { event.preventDefault(); zone.classList.add("over"); });
    zone.addEventListener("dragleave", () => zone.classList.remove("over"));
    zone.addEventListener("drop", (event) => {
      event.preventDefault();
      zone.classList.remove("over");
      [...event.dataTransfer.files].forEach((file) => this.upload(file, file.name));
    });
    input.addEventListener("change", () => { [...input.files].forEach((file) => this.upload(file, file.name)); input.value = ""; });
    $("camera-toggle").addEventListener("click", () => (this.camera ? this.stopCamera() : this.startCamera()));
    $("comparison").addEventListener("change", () => this.putComparison());
    $("reference").addEventListener("change", () => this.putComparison());
  }

  fps() { return Math.max(0.1, Number($("shapes-fps").value) || 1); }

  error(message) { $("source-error").textContent = message; }

  async load() {
    try {
      this.showSource(await this.transmitter.json("/v1/source"));
    } catch (err) {
      $("source-state").textContent = `source control unavailable (${err.status || ""} ${err.detail || err.message})`;
    }
    try {
      const stats = await this.transmitter.json("/v1/stats");
      $("sending").textContent = sendingText(stats.pack, stats.spread);
    } catch {
      $("sending").textContent = "";
    }
    try {
      const comparison = await this.transmitter.json("/v1/comparison");
      this.showComparison(comparison);
      const reference = $("reference");
      // the references the transmitter offers (the best pixel peer, fp16), and the one it uses now
      for (const name of [...(comparison.offered || []), comparison.reference].filter(Boolean)) {
        if (![...reference.options].some((o) => o.value === name)) reference.add(new Option(name, name));
      }
      if (comparison.reference) reference.value = comparison.reference;
    } catch (err) {
      $("comparison").disabled = true;
      $("comparison").title = `comparison unavailable: ${err.detail || err.message}`;
      this.showComparison(null);
    }
  }

  /** The comparison state the transmitter gave (null: unknown); `onComparison` hears of each change. */
  showComparison(comparison) {
    if (comparison) $("comparison").checked = comparison.enabled;
    const changed = JSON.stringify(comparison) !== JSON.stringify(this.comparison);
    this.comparison = comparison;
    if (changed) this.onComparison(comparison);
  }

  showSource(source) {
    this.source = source;
    const running = source.kind === "shapes" && !source.paused;
    $("shapes-toggle").textContent = running ? "Pause" : "Start";
    $("shapes-toggle").setAttribute("aria-pressed", String(running));
    if (source.kind === "shapes" && document.activeElement !== $("shapes-fps")) $("shapes-fps").value = source.fps;
    $("source-state").textContent = `source: ${source.kind}${source.path ? " " + source.path : ""}` +
      (source.kind !== "none" ? ` at ${source.fps} frames/s${source.paused ? ", paused" : ""}` : "");
  }

  async putSource(body) {
    try {
      this.showSource(await this.transmitter.json("/v1/source", { method: "PUT", json: body }));
      this.error("");
    } catch (err) {
      this.error(err.detail || err.message);
    }
  }

  toggleShapes() {
    const running = this.source && this.source.kind === "shapes" && !this.source.paused;
    return this.putSource({ kind: "shapes", fps: this.fps(), paused: running });
  }

  async putComparison() {
    try {
      const answer = await this.transmitter.json("/v1/comparison", { method: "PUT",
        json: { enabled: $("comparison").checked, reference: $("reference").value } });
      this.showComparison({ ...this.comparison, ...answer });
      this.error("");
    } catch (err) {
      this.error(err.detail || err.message);
    }
  }

  /** POST an image (a File or a Blob) to the transmitter; its preview becomes the frame's thumbnail. */
  async upload(blob, name = "upload", source = "upload") {
    const form = new FormData();
    form.append("file", blob, name);
    try {
      const ticket = await this.transmitter.json(`/v1/frames?source=${source}`,
        { method: "POST", body: form, timeoutMs: 20000 });
      this.board.posted(ticket.frame_id, URL.createObjectURL(blob));
      this.error("");
      return ticket;
    } catch (err) {
      this.error(`upload ${name}: ${err.detail || err.message}`);
      return null;
    }
  }

  async startCamera() {
    try {
      this.camera = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 }, audio: false });
    } catch (err) {
      this.error(`camera: ${err.message}`);
      return;
    }
    const video = $("camera");
    video.srcObject = this.camera;
    video.hidden = false;
    await video.play();
    $("camera-toggle").textContent = "Stop camera";
    $("camera-toggle").setAttribute("aria-pressed", "true");
    const canvas = document.createElement("canvas");
    let inFlight = false;
    const grab = () => {
      if (!this.camera) return;
      this.cameraTimer = setTimeout(grab, 1000 / Math.max(0.2, Number($("camera-fps").value) || 1));
      if (inFlight || !video.videoWidth) return; // one frame on its way at a time: the camera drops, not the tab
      canvas.width = video.videoWidth;
      canvas.height = video.videoHeight;
      canvas.getContext("2d").drawImage(video, 0, 0);
      inFlight = true;
      canvas.toBlob(async (blob) => {
        if (blob) await this.upload(blob, "camera.jpg", "camera");
        inFlight = false;
      }, "image/jpeg", 0.85);
    };
    grab();
  }

  stopCamera() {
    clearTimeout(this.cameraTimer);
    this.camera.getTracks().forEach((track) => track.stop());
    this.camera = null;
    $("camera").hidden = true;
    $("camera-toggle").textContent = "Start camera";
    $("camera-toggle").setAttribute("aria-pressed", "false");
  }
}
