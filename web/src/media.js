// WHIP publish / WHEP subscribe sessions (RFC 9725) against medrelay, with ICE restart via PATCH
// (§4.4.2) and a fresh POST when the session cannot be restarted.
import { parseIceServers } from './link.js';

export class HttpError extends Error {
  constructor(status, body) {
    super(body?.message || `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

function fragOf(sdp) {
  const ufrag = /a=ice-ufrag:(\S+)/.exec(sdp)?.[1];
  const pwd = /a=ice-pwd:(\S+)/.exec(sdp)?.[1];
  return { ufrag, pwd };
}

// One WHIP or WHEP session with its own RTCPeerConnection.
export class MediaSession {
  // relay: null (any path), or 'any' | 'udp' | 'tcp' | 'tls' (relay-only, through TURN over that
  // client transport).
  constructor({ url, token, iceServers, relay, onTrack, onState }) {
    this.url = url;
    this.token = token;
    this.relay = relay || null;
    this.relayOnly = Boolean(relay);
    this.iceServers = filterServers(iceServers || [], this.relay);
    this.onTrack = onTrack || (() => {});
    this.onState = onState || (() => {});
    this.location = null;
    this.etag = null;
    this.pc = null;
    this.closed = false;
    this.recovering = false;
  }

  config() {
    return { iceServers: this.iceServers, iceTransportPolicy: this.relayOnly ? 'relay' : 'all',
             bundlePolicy: 'max-bundle' };
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
    pc.oniceconnectionstatechange = () => this.stateChanged();
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    const resp = await fetch(this.url, {
      method: 'POST',
      headers: { Authorization: `Bearer ${this.token}`, 'Content-Type': 'application/sdp' },
      body: pc.localDescription.sdp,
    });
    if (resp.status !== 201) throw new HttpError(resp.status, await resp.json().catch(() => null));
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
    if (this.closed) return;
    const s = this.pc.iceConnectionState;
    this.onState(s);
    if ((s === 'disconnected' || s === 'failed') && !this.recovering) this.recover();
  }

  // ICE restart first; when the session is gone or does not come back, a fresh POST.
  async recover() {
    this.recovering = true;
    try {
      await sleep(this.pc.iceConnectionState === 'failed' ? 0 : 1500);
      if (this.closed || this.connected()) return;
      try {
        await this.restartIce();
        if (await this.waitConnected(5000)) return;
      } catch {
        // fall through to a fresh session
      }
      while (!this.closed && !this.connected()) {
        try {
          this.pc.close();
          await this.start(this.stream);
          if (await this.waitConnected(8000)) return;
        } catch (e) {
          if (e instanceof HttpError && e.status >= 400 && e.status < 500 && e.status !== 409) {
            this.onState('refused', e);
            return;
          }
        }
        await sleep(1000);
      }
    } finally {
      this.recovering = false;
    }
  }

  connected() {
    const s = this.pc?.iceConnectionState;
    return s === 'connected' || s === 'completed';
  }

  async waitConnected(ms) {
    const until = Date.now() + ms;
    while (Date.now() < until && !this.closed) {
      if (this.connected()) return true;
      await sleep(200);
    }
    return this.connected();
  }

  async restartIce() {
    const pc = this.pc;
    const offer = await pc.createOffer({ iceRestart: true });
    await pc.setLocalDescription(offer);
    const { ufrag, pwd } = fragOf(offer.sdp);
    const resp = await fetch(this.location, {
      method: 'PATCH',
      headers: { Authorization: `Bearer ${this.token}`, 'If-Match': '*',
                 'Content-Type': 'application/trickle-ice-sdpfrag' },
      body: `a=ice-ufrag:${ufrag}\r\na=ice-pwd:${pwd}\r\n`,
    });
    if (resp.status !== 200) throw new HttpError(resp.status, null);
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
    this.pc?.close();
    if (this.location) {
      await fetch(this.location, { method: 'DELETE', headers: { Authorization: `Bearer ${this.token}` },
                                   keepalive: true }).catch(() => {});
    }
  }
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
