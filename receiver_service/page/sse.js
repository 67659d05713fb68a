// Server-sent events over fetch (so the bearer token can be sent), reconnecting with backoff when the stream ends.

import { TokenNeeded, tokens } from "./api.js";

/**
 * Read `service`'s `path` as an event stream for as long as the page lives.
 * onEvent(type, data) per event; the service is marked up while connected, down while not. Refused for want of
 * the API token, it waits until one is given (`tokens`) instead of asking again.
 */
export function followEvents(service, path, onEvent, { onOpen = () => {} } = {}) {
  let attempt = 0;
  async function connect() {
    for (;;) {
      await tokens.usable();
      try {
        const response = await service.request(path, { headers: { Accept: "text/event-stream" }, timeoutMs: 2 ** 31 - 1 });
        if (response.status === 401 || response.status === 403) throw new Refused();
        if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
        attempt = 0;
        onOpen();
        await readStream(response.body, onEvent);
        service.mark(false, `${service.name} closed its event stream (restarting?)`);
      } catch (err) {
        if (err instanceof Refused || err instanceof TokenNeeded) continue;  // waits for a token at the loop's top
        service.mark(false, `cannot reach ${service.name} at ${service.base} (${err.message})`);
      }
      attempt += 1;
      await new Promise((resolve) => setTimeout(resolve, Math.min(250 * 2 ** Math.min(attempt, 4), 3000)));
    }
  }
  connect();
}

/** The service answered 401/403: Service.request has already said so and asked for the token. */
class Refused extends Error {}

async function readStream(body, onEvent) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value.replace(/\r\n?/g, "\n");
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      dispatch(block, onEvent);
    }
  }
}

function dispatch(block, onEvent) {
  let type = "message";
  const data = [];
  for (const line of block.split("\n")) {
    if (!line || line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
    if (field === "event") type = value;
    else if (field === "data") data.push(value);
  }
  if (!data.length) return;
  let parsed;
  try { parsed = JSON.parse(data.join("\n")); } catch { parsed = data.join("\n"); }
  onEvent(type, parsed);
}
