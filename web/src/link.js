// Join link: /app/#room=<id>&token=<invite token>. The fragment is never sent in a request.
export function parseJoinLink(hash) {
  const text = (hash || '').replace(/^#/, '');
  const params = new URLSearchParams(text);
  const room = params.get('room') || '';
  const token = params.get('token') || '';
  if (!room || !token) return { ok: false, code: 'bad_link' };
  if (!/^[A-Za-z0-9_-]{1,128}$/.test(room)) return { ok: false, code: 'bad_link' };
  if (!/^[\x21-\x7e]{8,512}$/.test(token)) return { ok: false, code: 'bad_link' };
  const relay = relayOption(params.get('relay'));
  return relay ? { ok: true, room, token, relay } : { ok: true, room, token };
}

// Optional `&relay=1|udp|tcp|tls`: send media only through medrelay's TURN relay
// (iceTransportPolicy 'relay'), over any or one client transport. Anything else: direct paths too.
export function relayOption(value) {
  if (value === '1' || value === 'any') return 'any';
  if (value === 'udp' || value === 'tcp' || value === 'tls') return value;
  return null;
}

export function joinLink(origin, room, token) {
  return `${origin}/app/#room=${encodeURIComponent(room)}&token=${encodeURIComponent(token)}`;
}

// RFC 8288 Link header values with rel="ice-server" (RFC 9725 §4.6) -> RTCIceServer[].
export function parseIceServers(linkHeaders) {
  const out = [];
  for (const header of linkHeaders || []) {
    for (const part of splitLinks(header)) {
      const m = /^\s*<([^>]*)>(.*)$/.exec(part);
      if (!m) continue;
      const attrs = {};
      const re = /;\s*([A-Za-z-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s;,]*))/g;
      for (const kv of m[2].matchAll(re)) {
        attrs[kv[1].toLowerCase()] = kv[2] !== undefined ? kv[2].replace(/\\(.)/g, '$1') : kv[3];
      }
      if ((attrs.rel || '').toLowerCase() !== 'ice-server') continue;
      const server = { urls: m[1] };
      if (attrs.username !== undefined) server.username = attrs.username;
      if (attrs.credential !== undefined) server.credential = attrs.credential;
      out.push(server);
    }
  }
  return out;
}

function splitLinks(header) {
  const parts = [];
  let cur = '';
  let inQuote = false;
  let inUri = false;
  for (const ch of header) {
    if (ch === '"' && !inUri) inQuote = !inQuote;
    else if (ch === '<' && !inQuote) inUri = true;
    else if (ch === '>' && !inQuote) inUri = false;
    if (ch === ',' && !inQuote && !inUri) {
      parts.push(cur);
      cur = '';
    } else {
      cur += ch;
    }
  }
  if (cur.trim()) parts.push(cur);
  return parts;
}
