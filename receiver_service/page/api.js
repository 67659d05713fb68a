// The page's HTTP client: where each service is, the bearer token, and which services answer.

const TOKEN_KEY = "semlink-token";

/** A `?token=` in the address is kept for this tab (sessionStorage) and sent as `Authorization: Bearer`. */
export function apiToken() {
  const params = new URLSearchParams(location.search);
  const given = params.get("token");
  if (given) {
    sessionStorage.setItem(TOKEN_KEY, given);
    params.delete("token");
    const rest = params.toString();
    history.replaceState(null, "", location.pathname + (rest ? "?" + rest : "") + location.hash);
  }
  return sessionStorage.getItem(TOKEN_KEY) || "";
}

export function authHeaders(extra = {}) {
  const token = apiToken();
  return token ? { ...extra, Authorization: `Bearer ${token}` } : extra;
}

/** One service as the page sees it: its base URL and whether it answered last time. */
export class Service {
  constructor(name, base, onChange) {
    this.name = name;
    this.base = base;
    this.up = null;
    this.detail = "";
    this.onChange = onChange;
  }

  mark(up, detail = "") {
    if (up !== this.up || detail !== this.detail) {
      this.up = up;
      this.detail = detail;
      this.onChange(this);
    }
  }

  /** fetch `path`; a network failure marks the service down (and throws), any HTTP answer marks it up. */
  async request(path, { method = "GET", json, body, headers = {}, timeoutMs = 8000 } = {}) {
    const init = { method, headers: authHeaders(headers), signal: AbortSignal.timeout(timeoutMs) };
    if (json !== undefined) {
      init.body = JSON.stringify(json);
      init.headers["Content-Type"] = "application/json";
    } else if (body !== undefined) {
      init.body = body;
    }
    let response;
    try {
      response = await fetch(this.base + path, init);
    } catch (err) {
      this.mark(false, `cannot reach ${this.name} at ${this.base}`);
      throw new Unreachable(`${this.name} unreachable: ${err.message}`);
    }
    if (response.status === 401 || response.status === 403) {
      this.mark(false, `${this.name} refused the page (HTTP ${response.status}): open it as ${location.pathname}?token=<API token>`);
    } else this.mark(true);
    return response;
  }

  /** JSON of a 2xx answer; otherwise an HttpError carrying the service's `detail`. */
  async json(path, options) {
    const response = await this.request(path, options);
    const text = await response.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch { data = { detail: text }; }
    if (!response.ok) throw new HttpError(response.status, (data && data.detail) || response.statusText, path);
    return data;
  }
}

export class Unreachable extends Error {}

export class HttpError extends Error {
  constructor(status, detail, path) {
    super(`${path}: ${status} ${typeof detail === "string" ? detail : JSON.stringify(detail)}`);
    this.status = status;
    this.detail = detail;
  }
}

/** The base URL of a service: the configured one, else this page's host on `port`. */
export function serviceBase(configured, port) {
  if (configured) return configured.replace(/\/$/, "");
  return `${location.protocol}//${location.hostname}:${port}`;
}
