import { describe, expect, it } from 'vitest';
import { HttpError, kRetry, retryAfterMs, retryDelay } from '../src/media.js';

const conflict = (body, header = null) => new HttpError(409, { code: 'already_connected', message: 'x', ...body }, header);
const mid = () => 0.5;  // no jitter

describe('rejoin retry policy', () => {
  it('waits as told while the previous publish session is still fresh (409 already_connected)', () => {
    expect(retryDelay(conflict({ retry_after_ms: 1250, stale_at: '2026-01-01T00:00:00Z' }), 1, mid)).toBe(1250);
    // Only Retry-After (whole seconds, RFC 9110 §10.2.3).
    expect(retryDelay(conflict({}, retryAfterMs('2')), 1, mid)).toBe(2000);
    // The body's milliseconds win over the header's rounded-up seconds.
    expect(retryDelay(conflict({ retry_after_ms: 300 }, 1000), 1, mid)).toBe(300);
    // Zero (already stale) still leaves a moment; absurd waits are capped.
    expect(retryDelay(conflict({ retry_after_ms: 0 }), 1, mid)).toBe(kRetry.toldMinMs);
    expect(retryDelay(conflict({ retry_after_ms: 3600000 }), 1, mid)).toBe(kRetry.toldMaxMs);
    // Told nothing: back off.
    expect(retryDelay(conflict({}), 1, mid)).toBe(kRetry.baseMs);
  });
  it('backs off exponentially with jitter on transient errors, up to a ceiling', () => {
    const net = new TypeError('Failed to fetch');
    expect(retryDelay(net, 1, mid)).toBe(500);
    expect(retryDelay(net, 2, mid)).toBe(1000);
    expect(retryDelay(net, 3, mid)).toBe(2000);
    expect(retryDelay(net, 30, mid)).toBe(kRetry.maxMs);
    expect(retryDelay(net, 1, () => 0)).toBe(400);
    expect(retryDelay(net, 1, () => 1)).toBe(600);
    for (const status of [408, 429, 500, 502, 503, 504]) {
      expect(retryDelay(new HttpError(status, { code: 'x' }), 2, mid)).toBe(1000);
    }
    expect(retryDelay(new HttpError(503, { code: 'access_log_unavailable' }, 5000), 1, mid)).toBe(5000);
    expect(retryDelay(new HttpError(409, { code: 'too_many_sessions' }), 1, mid)).toBe(500);
  });
  it('does not retry what retrying cannot cure', () => {
    for (const [status, code] of [[400, 'invalid_offer'], [401, 'invalid_token'], [403, 'invite_revoked'],
      [403, 'window_closed'], [404, 'not_found'], [409, 'doctor_busy'], [409, 'room_ended'], [415, 'x'], [422, 'x']]) {
      expect(retryDelay(new HttpError(status, { code }), 1, mid), `${status} ${code}`).toBeNull();
    }
  });
  it('reads Retry-After as seconds or an HTTP date', () => {
    expect(retryAfterMs(null)).toBeNull();
    expect(retryAfterMs('3')).toBe(3000);
    const now = Date.parse('2026-12-03T10:00:00Z');
    expect(retryAfterMs('Thu, 03 Dec 2026 10:00:05 GMT', now)).toBe(5000);
    expect(retryAfterMs('Thu, 03 Dec 2026 09:59:00 GMT', now)).toBe(0);
    expect(retryAfterMs('soon')).toBeNull();
  });
});
