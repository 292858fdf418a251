// WHIP publish / WHEP subscribe sessions (RFC 9725) against medrelay, with ICE restart via PATCH
// (§4.3.2) and a fresh POST when the session cannot be restarted. The rejoin rules are in
// docs/web-client.md "Rejoining"; the server's side of them in docs/policy.md rule 5.
import { parseIceServers } from './link.js';

export class HttpError extends Error {
  constructor(status, body, retryAfterMs = null) {
    super(body?.message || `HTTP ${status}`);
    this.status = status;
    this.body = body;
    this.retryAfterMs = retryAfterMs;
  }
}

// RFC 9110 §10.2.3: Retry-After as delay-seconds (or an HTTP date), in milliseconds.
export function retryAfterMs(value, now = Date.now()) {
  if (!value) return null;
  if (/^\s*\d+\s*$/.test(value)) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

export const kRetry = {
  baseMs: 500,         // first back-off after a transient error
  maxMs: 8000,         // back-off ceiling
  toldMinMs: 100,      // a server-told wait is kept within these bounds
  toldMaxMs: 30000,
  elsewhereAfter: 3,   // this many already_connected answers in a row: the link is live elsewhere
};

// How long to wait before trying a refused or failed POST again, or null when trying again
// cannot help (the link is refused, the offer is wrong). `attempt` counts from 1.
//   409 already_connected: the invite's previous publish session is still fresh; the server says
//     when it will be stale (retry_after_ms, Retry-After), and a POST after that takes it over
//     (docs/policy.md rule 5).
//   409 too_many_sessions, 408, 425, 429, 5xx, a network error or a timeout: transient,
//     exponential back-off with jitter (or the server's Retry-After).
export function retryDelay(error, attempt, random = Math.random) {
  const jitter = (ms) => Math.round(ms * (0.8 + 0.4 * random()));
  const backoff = () => jitter(Math.min(kRetry.maxMs, kRetry.baseMs * 2 ** Math.max(0, attempt - 1)));
  const clampTold = (ms) => Math.min(kRetry.toldMaxMs, Math.max(kRetry.toldMinMs, ms));
  if (!(error instanceof HttpError)) return backoff();  // fetch's TypeError, a timeout
  const s = error.status;
  if (s === 409 && error.body?.code === 'already_connected') {
    const told = error.body.retry_after_ms ?? error.retryAfterMs;
    return typeof told === 'number' && told >= 0 ? clampTold(told) : backoff();
  }
  // Subscriptions of this invite that a moment ago were being torn down.
  if (s === 409 && error.body?.code === 'too_many_sessions') return backoff();
  if (s === 408 || s === 425 || s === 429 || s >= 500) {
    return error.retryAfterMs !== null && error.retryAfterMs !== undefined ? clampTold(error.retryAfterMs) : backoff();
  }
  return null;
}

function fragOf(sdp) {
  const ufrag = /a=ice-ufrag:(\S+)/.exec(sdp)?.[1];
  const pwd = /a=ice-pwd:(\S+)/.exec(sdp)?.[1];
  return { ufrag, pwd };
}

// fetch() that gives up after `ms` (the network may be gone without any error).
export async function fetchWithin(url, options, ms) {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), ms);
  try {
    return await fetch(url, { ...options, signal: abort.signal });
  } finally {
    clearTimeout(timer);
  }
}

// Timings of recovery (docs/web-client.md "Rejoining"); exported so tests can shorten them.
export const kRecovery = {
  // How long a POST or a PATCH may take before it counts as failed (the network may be gone
  // without any error).
  timeoutMs: { post: 10000, patch: 4000 },
  // Chromium often finds its path again by itself when the network returns (its consent checks
  // resume on the selected pair, RFC 7675 §5.1): wait this long before anything else.
  graceMs: 500,
  // A publish session hears from the relay several times a second (transport-cc feedback,
  // receiver reports): this long without a byte means this page's path is gone, seconds before
  // the browser calls it disconnected (about 5.5 s in Chromium on a dropped or moved network).
  silenceMs: 2000,
  silenceCheckMs: 250,
  // After a restart or a fresh POST, how long the new path may take to connect (ICE and, for a
  // fresh session, DTLS) before the next try.
  connectWaitMs: { restart: 4000, fresh: 8000 },
  // The server ends a session whose consent expired (media.consent_timeout_ms, 30 s by
  // default): after that long without a path a restart cannot succeed, so a fresh session is
  // POSTed at once.
  consentWindowMs: 30000,
};

// One WHIP or WHEP session with its own RTCPeerConnection. onState(state, error) reports
// 'connecting', 'connected', 'reconnecting', 'previous' (waiting for this invite's previous
// connection to go stale), 'elsewhere' (it stays live: another window or device), 'refused'
// (the server will not take it: error says why) and 'gone' (a subscription whose target does not
// publish).
export class MediaSession {
  // relay: null (any path), or 'any' | 'udp' | 'tcp' | 'tls' (relay-only, through TURN over that
  // client transport). deadline: ms since the epoch after which nothing is retried (the end of
  // the consultation window).
  // onSilent: called when a publish session's watchdog finds the path silent (the page's other
  // sessions share the network: nudge() them).
  constructor({ url, token, iceServers, relay, onTrack, onState, onSilent, publish, deadline }) {
    this.url = url;
    this.token = token;
    this.relay = relay || null;
    this.relayOnly = Boolean(relay);
    this.iceServers = filterServers(iceServers || [], this.relay);
    this.onTrack = onTrack || (() => {});
    this.onState = onState || (() => {});
    this.onSilent = onSilent || (() => {});
    this.publish = Boolean(publish);
    this.deadline = deadline || Infinity;
    this.location = null;
    this.etag = null;
    this.pc = null;
    this.closed = false;
    this.recovering = false;
    this.state = null;
    // For diagnostics and tests: [time, state] of every report, and how the session recovered.
    this.history = [];
    this.recoveries = [];
  }

  config() {
    return { iceServers: this.iceServers, iceTransportPolicy: this.relayOnly ? 'relay' : 'all',
             bundlePolicy: 'max-bundle' };
  }

  report(state, error = null) {
    if (this.closed && state !== 'refused' && state !== 'gone') return;
    if (state === this.state && !error) return;
    this.state = state;
    this.history.push([Date.now(), state]);
    this.onState(state, error);
  }

  // POSTs the offer until the server takes it, waiting as told while the invite's previous
  // session is still live (409 already_connected) and backing off on transient errors
  // (retryDelay). Throws what retrying cannot cure, or the last error once the deadline is near.
  async connect(stream) {
    let conflicts = 0;
    this.report(this.state === null ? 'connecting' : 'reconnecting');
    for (let attempt = 1; ; attempt++) {
      if (this.closed) throw new Error('closed');
      try {
        const servers = await this.start(stream);
        if (this.publish) this.watchSilence();
        return servers;
      } catch (e) {
        this.pc?.close();
        if (this.closed) throw e;
        const wait = retryDelay(e, attempt);
        if (wait === null || Date.now() + wait >= this.deadline) throw e;
        conflicts = e instanceof HttpError && e.status === 409 ? conflicts + 1 : 0;
        this.report(conflicts >= kRetry.elsewhereAfter ? 'elsewhere' : conflicts > 0 ? 'previous' : 'reconnecting');
        console.info(`${this.publish ? 'publish' : 'subscribe'}: ${e.body?.code || e.status || e.message}, trying again in ${wait} ms`);
        await sleep(wait);
      }
    }
  }

  async start(stream) {
    this.stream = stream;
    const pc = new RTCPeerConnection(this.config());
    this.pc = pc;
    if (stream) {
      for (const track of stream.getTracks()) pc.addTransceiver(track, { direction: 'sendonly', streams: [stream] });
    } else {
      pc.addTransceiver('audio', { direction: 'recvonly' });
      pc.addTransceiver('video', { direction: 'recvonly' });
    }
    pc.ontrack = (ev) => this.onTrack(ev);
    pc.oniceconnectionstatechange = () => { if (pc === this.pc) this.stateChanged(); };
    pc.onconnectionstatechange = () => { if (pc === this.pc) this.stateChanged(); };
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    const resp = await fetchWithin(this.url, {
      method: 'POST',
      headers: { Authorization: `Bearer ${this.token}`, 'Content-Type': 'application/sdp' },
      body: pc.localDescription.sdp,
    }, kRecovery.timeoutMs.post);
    if (resp.status !== 201) {
      throw new HttpError(resp.status, await resp.json().catch(() => null),
                          retryAfterMs(resp.headers.get('Retry-After')));
    }
    // Location is relative to the request URL, itself relative to the page (RFC 9110 §10.2.2).
    this.location = new URL(resp.headers.get('Location'), new URL(this.url, globalThis.location?.href)).href;
    this.etag = resp.headers.get('ETag');
    const links = resp.headers.get('Link');
    const servers = filterServers(links ? parseIceServers([links]) : [], this.relay);
    const answer = await resp.text();
    this.answer = answer;
    await pc.setRemoteDescription({ type: 'answer', sdp: answer });
    if (servers.length > 0) {
      const hadServers = this.iceServers.length > 0;
      this.iceServers = servers;
      pc.setConfiguration(this.config());
      // Relay-only without a TURN server gathered nothing: gather again with the one the answer
      // brought.
      if (this.relayOnly && !hadServers) await this.restartIce();
    }
    return servers;
  }

  stateChanged() {
    if (this.closed || !this.pc) return;
    if (this.connected()) {
      if (!this.recovering) this.report('connected');
      return;
    }
    const ice = this.pc.iceConnectionState;
    if ((ice === 'disconnected' || ice === 'failed' || this.pc.connectionState === 'failed') && !this.recovering) {
      this.recover();
    }
  }

  // Recovery when this publish session has heard nothing for kRecovery.silenceMs although the
  // browser still calls it connected.
  watchSilence() {
    if (this.watchdog) return;
    let last = { bytes: -1, at: Date.now(), pc: null };
    this.watchdog = setInterval(async () => {
      if (this.closed) {
        clearInterval(this.watchdog);
        this.watchdog = null;
        return;
      }
      const pc = this.pc;
      if (!pc || this.recovering || !this.connected()) {
        last = { bytes: -1, at: Date.now(), pc };
        return;
      }
      let bytes = 0;
      try {
        (await pc.getStats()).forEach((x) => { if (x.type === 'transport') bytes += x.bytesReceived || 0; });
      } catch {
        return;
      }
      if (bytes !== last.bytes || pc !== last.pc) {
        last = { bytes, at: Date.now(), pc };
      } else if (Date.now() - Math.max(last.at, this.recoveredAt || 0) >= kRecovery.silenceMs && pc === this.pc
                 && !this.recovering && !this.closed) {
        this.onSilent();
        this.recover('silent');
      }
    }, kRecovery.silenceCheckMs);
  }

  // Another session of the page found the network gone: check this one's path too, without
  // waiting for the browser to notice.
  nudge() {
    if (!this.closed && !this.recovering && this.pc) this.recover('nudged');
  }

  // The path is lost (RTCPeerConnection disconnected or failed, or the publish session silent).
  // In order: give the path a moment to come back by itself; once the server answers again, restart ICE on the same
  // session (PATCH, RFC 9725 §4.3.2); when the session is gone (404: its consent expired, or a
  // newer page took it over) or the restart does not connect, POST a fresh session (connect():
  // a publish session takes the stale old one over). Bounded by the deadline; never gives up
  // on a transient error.
  async recover(why = 'browser') {
    this.recovering = true;
    const lostAt = Date.now();
    const how = { lostAt, why, steps: [] };
    this.recoveries.push(how);
    this.report('reconnecting');
    // When the browser reported the loss, its word that the path is back ends the recovery; a
    // silent (or nudged) session may still be called connected, so it restarts ICE regardless.
    const browser = why === 'browser';
    try {
      if (browser && !this.failed()) await this.waitConnected(kRecovery.graceMs);
      for (let attempt = 1; !this.closed && !(browser && this.connected()); attempt++) {
        if (Date.now() >= this.deadline) return;
        // An ICE restart sent into a dead network can reach the server later, after this page
        // gave up waiting for it: the server would then expect credentials the page never
        // applied. So: restart only once the server answers.
        if (!(await serverReachable(this.url, this.deadline, () => this.closed || (browser && this.connected())))) continue;
        how.steps.push(['reachable', Date.now()]);
        if (browser && this.connected()) break;
        let fresh = !this.location || Date.now() - lostAt >= kRecovery.consentWindowMs;
        if (!fresh) {
          const r = await this.tryRestart();
          how.steps.push([`restart-${r}`, Date.now()]);
          if (r === 'ok' && await this.waitConnected(kRecovery.connectWaitMs.restart)) break;
          if (r === 'error') {
            await sleep(retryDelay(new Error('restart'), attempt));
            continue;
          }
          fresh = true;
        }
        if (fresh) {
          how.steps.push(['fresh', Date.now()]);
          if (!(await this.renew())) return;
          if (await this.waitConnected(kRecovery.connectWaitMs.fresh)) break;
        }
      }
    } finally {
      this.recovering = false;
      this.recoveredAt = Date.now();
      how.connectedAt = this.connected() ? Date.now() : null;
      if (this.connected()) this.report('connected');
      else if (!this.closed && (this.pc?.iceConnectionState === 'failed' || this.pc?.connectionState === 'failed')) {
        // Lost again while finishing: start over.
        setTimeout(() => this.stateChanged(), 0);
      }
    }
  }

  // ICE restart on the same session; 'ok', 'gone' (the session or its credentials are no
  // more: a fresh POST is needed) or 'error' (transient: try again).
  async tryRestart() {
    const pc = this.pc;
    try {
      await this.restartIce();
      return 'ok';
    } catch (e) {
      // Back to the credentials both sides agreed on.
      if (pc.signalingState === 'have-local-offer') await pc.setLocalDescription({ type: 'rollback' }).catch(() => {});
      if (e instanceof HttpError && e.status >= 400 && e.status < 500 && e.status !== 408 && e.status !== 429) return 'gone';
      return 'error';
    }
  }

  // A fresh session in place of this one; false when the server refuses it for good.
  async renew() {
    const old = this.location;
    this.pc?.close();
    this.location = null;
    // Only a publish session is taken over by its replacement (docs/policy.md rule 5): an old
    // subscription is ended here, or it would linger until its consent expires.
    if (old && !this.publish) {
      fetchWithin(old, { method: 'DELETE', headers: { Authorization: `Bearer ${this.token}` }, keepalive: true },
                  kProbe.timeoutMs).catch(() => {});
    }
    try {
      await this.connect(this.stream);
      return true;
    } catch (e) {
      if (this.closed) return false;
      const gone = !this.publish && e instanceof HttpError && e.status === 404;
      this.report(gone ? 'gone' : 'refused', e);
      this.closed = true;
      this.pc?.close();
      return false;
    }
  }

  connected() {
    return this.pc?.connectionState === 'connected';
  }

  failed() {
    return this.pc?.iceConnectionState === 'failed' || this.pc?.connectionState === 'failed';
  }

  async waitConnected(ms) {
    const until = Date.now() + ms;
    while (Date.now() < until && !this.closed) {
      if (this.connected()) return true;
      await sleep(50);
    }
    return this.connected();
  }

  async restartIce() {
    const pc = this.pc;
    const offer = await pc.createOffer({ iceRestart: true });
    await pc.setLocalDescription(offer);
    const { ufrag, pwd } = fragOf(offer.sdp);
    const resp = await fetchWithin(this.location, {
      method: 'PATCH',
      headers: { Authorization: `Bearer ${this.token}`, 'If-Match': '*',
                 'Content-Type': 'application/trickle-ice-sdpfrag' },
      body: `a=ice-ufrag:${ufrag}\r\na=ice-pwd:${pwd}\r\n`,
    }, kRecovery.timeoutMs.patch);
    if (resp.status !== 200) throw new HttpError(resp.status, await resp.json().catch(() => null));
    this.etag = resp.headers.get('ETag') || this.etag;
    const frag = fragOf(await resp.text());
    const sdp = this.answer
      .replace(/a=ice-ufrag:\S+/g, `a=ice-ufrag:${frag.ufrag}`)
      .replace(/a=ice-pwd:\S+/g, `a=ice-pwd:${frag.pwd}`);
    this.answer = sdp;
    await pc.setRemoteDescription({ type: 'answer', sdp });
  }

  async replaceTrack(kind, track) {
    const sender = this.pc?.getSenders().find((s) => s.track?.kind === kind || (!s.track && track.kind === kind));
    if (sender) await sender.replaceTrack(track);
  }

  async close() {
    this.closed = true;
    clearInterval(this.watchdog);
    this.watchdog = null;
    this.pc?.close();
    if (this.location) {
      await fetch(this.location, { method: 'DELETE', headers: { Authorization: `Bearer ${this.token}` },
                                   keepalive: true }).catch(() => {});
    }
  }
}

// Resolves true as soon as the server answers a request (GET /healthz) again, false when
// `stop()` turns true or the deadline passes. A probe starts every kProbe.everyMs, each given
// kProbe.timeoutMs, so the first answer after a network outage is seen within about one
// interval and one round trip, however long the outage was; all sessions of the page share
// the probes (the browser has only a few connections per server).
export const kProbe = { everyMs: 500, timeoutMs: 2000 };
const probes = { timer: null, waiters: new Set() };

export function serverReachable(url, deadline, stop) {
  return new Promise((resolve) => {
    const waiter = { stop: () => stop() || Date.now() >= deadline, resolve };
    probes.waiters.add(waiter);
    if (probes.timer) return;
    const healthz = new URL('/healthz', new URL(url, globalThis.location?.href)).href;
    const settle = (reached) => {
      for (const w of probes.waiters) {
        if (reached || w.stop()) {
          probes.waiters.delete(w);
          w.resolve(reached);
        }
      }
      if (probes.waiters.size === 0) {
        clearInterval(probes.timer);
        probes.timer = null;
      }
    };
    const probe = () => {
      settle(false);
      if (!probes.timer) return;
      fetchWithin(healthz, { cache: 'no-store' }, kProbe.timeoutMs).then(() => settle(true), () => {});
    };
    probes.timer = setInterval(probe, kProbe.everyMs);
    probe();
  });
}

// Keeps only the TURN URLs of one client transport: 'udp' turn:…?transport=udp, 'tcp'
// turn:…?transport=tcp, 'tls' turns:…; 'any' or null keeps all.
export function filterServers(servers, relay) {
  if (!relay || relay === 'any') return servers;
  const keep = (u) => {
    const tls = /^turns:/i.test(u);
    const tcp = /[?&]transport=tcp/i.test(u);
    if (relay === 'tls') return tls;
    if (relay === 'tcp') return !tls && tcp && /^turn:/i.test(u);
    return /^turn:/i.test(u) && !tcp;
  };
  const out = [];
  for (const s of servers) {
    const urls = (Array.isArray(s.urls) ? s.urls : [s.urls]).filter(keep);
    if (urls.length > 0) out.push({ ...s, urls });
  }
  return out;
}

function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}
