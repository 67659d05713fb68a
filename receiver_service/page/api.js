// The page's HTTP client: where each service is, the bearer token (and whether one is needed), which services answer.

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

/**
 * Whether the page lacks a token the services take. While it does, no guarded request is sent (no 401 every
 * second): requests throw TokenNeeded and the event stream waits in `usable()` until a token is given.
 */
class TokenState {
  constructor() { this.needed = false; this.refusedBy = new Set(); this.waiters = []; this.listeners = []; }

  /** `service` (a name) refused the page's token, or the page has none and it needs one. */
  require(service) {
    this.refusedBy.add(service);
    this.needed = true;
    this.listeners.forEach((fn) => fn(this));
  }

  /** A token typed in: kept for this tab's session, and every waiting request goes ahead with it. */
  give(token) {
    sessionStorage.setItem(TOKEN_KEY, token);
    this.needed = false;
    this.refusedBy.clear();
    this.waiters.splice(0).forEach((resolve) => resolve());
    this.listeners.forEach((fn) => fn(this));
  }

  /** Resolves at once, or when a token is given. */
  usable() { return this.needed ? new Promise((resolve) => this.waiters.push(resolve)) : Promise.resolve(); }

  onChange(fn) { this.listeners.push(fn); }
}

export const tokens = new TokenState();

/** One service as the page sees it: its base URL and whether it answered last time (or wants the token). */
export class Service {
  constructor(name, base, onChange) {
    this.name = name;
    this.base = base;
    this.up = null;
    this.needsToken = false;
    this.detail = "";
    this.onChange = onChange;
  }

  mark(up, detail = "", needsToken = false) {
    if (up !== this.up || detail !== this.detail || needsToken !== this.needsToken) {
      this.up = up;
      this.detail = detail;
      this.needsToken = needsToken;
      this.onChange(this);
    }
  }

  /**
   * fetch `path`; a network failure marks the service down (and throws), any HTTP answer marks it up, a 401 or
   * 403 marks it as wanting the token. `open`: a route that needs no token (sent even while none is known).
   */
  async request(path, { method = "GET", json, body, headers = {}, timeoutMs = 8000, open = false } = {}) {
    if (tokens.needed && !open) throw new TokenNeeded(`${this.name}: waiting for the API token`);
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
      this.mark(null, `${this.name} refused the page (HTTP ${response.status})`, true);
      tokens.require(this.name);
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

/** Not sent: the page has no token the services take (see `tokens`). */
export class TokenNeeded extends Error {}

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
