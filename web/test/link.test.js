import { describe, expect, it } from 'vitest';
import { joinLink, parseIceServers, parseJoinLink, relayOption } from '../src/link.js';
import { filterServers } from '../src/media.js';

describe('parseJoinLink', () => {
  it('reads room and token from the fragment', () => {
    expect(parseJoinLink('#room=r_abc-1&token=tok.ABC_def-123')).toEqual({ ok: true, room: 'r_abc-1', token: 'tok.ABC_def-123' });
  });
  it('decodes percent-escapes and ignores order', () => {
    expect(parseJoinLink('#token=a%2Bb%3Dcdefgh&room=R1')).toEqual({ ok: true, room: 'R1', token: 'a+b=cdefgh' });
  });
  it('refuses missing or malformed parts', () => {
    for (const h of ['', '#', '#room=r1', '#token=abcdefghij', '#room=../x&token=abcdefghij', '#room=r1&token=short',
                     '#room=r1&token=has%20space123']) {
      expect(parseJoinLink(h).ok).toBe(false);
    }
  });
  it('round-trips with joinLink', () => {
    const url = new URL(joinLink('http://127.0.0.1:8080', 'room1', 'tok+/=abcdef'));
    expect(url.pathname).toBe('/app/');
    expect(parseJoinLink(url.hash)).toEqual({ ok: true, room: 'room1', token: 'tok+/=abcdef' });
  });
});

describe('parseIceServers', () => {
  it('reads TURN servers with credentials and skips other relations', () => {
    const servers = parseIceServers([
      '<turn:127.0.0.1:3478?transport=udp>; rel="ice-server"; username="1700000000:inv_1"; credential="a,b;c=="; credential-type="password"',
      '<https://example.test/x>; rel="next", <stun:127.0.0.1:3478>; rel=ice-server',
    ]);
    expect(servers).toEqual([
      { urls: 'turn:127.0.0.1:3478?transport=udp', username: '1700000000:inv_1', credential: 'a,b;c==' },
      { urls: 'stun:127.0.0.1:3478' },
    ]);
  });
  it('returns nothing for no headers', () => {
    expect(parseIceServers(undefined)).toEqual([]);
  });
});

describe('relay option', () => {
  it('reads relay=1|udp|tcp|tls from the link fragment', () => {
    const base = '#room=rm_1&token=abcdefgh12345678';
    expect(parseJoinLink(base).relay).toBeUndefined();
    expect(parseJoinLink(`${base}&relay=1`).relay).toBe('any');
    expect(parseJoinLink(`${base}&relay=tcp`).relay).toBe('tcp');
    expect(parseJoinLink(`${base}&relay=tls`).relay).toBe('tls');
    expect(relayOption('yes')).toBe(null);
  });
  it('keeps only the TURN URLs of the chosen client transport', () => {
    const servers = [{ urls: ['turn:h:1?transport=udp', 'turn:h:2?transport=tcp', 'turns:h:3?transport=tcp'],
                       username: 'u', credential: 'c' }];
    expect(filterServers(servers, 'udp')[0].urls).toEqual(['turn:h:1?transport=udp']);
    expect(filterServers(servers, 'tcp')[0].urls).toEqual(['turn:h:2?transport=tcp']);
    expect(filterServers(servers, 'tls')[0]).toEqual({ urls: ['turns:h:3?transport=tcp'], username: 'u', credential: 'c' });
    expect(filterServers(servers, 'any')).toBe(servers);
    expect(filterServers([{ urls: 'turn:h:1' }], 'tcp')).toEqual([]);
  });
});
