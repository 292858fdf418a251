import { describe, expect, it } from 'vitest';
import { SseParser } from '../src/sse.js';

function collect(chunks) {
  const out = [];
  const p = new SseParser((e) => out.push(e));
  for (const c of chunks) p.feed(c);
  return { out, p };
}

describe('SseParser', () => {
  it('dispatches typed events with JSON data', () => {
    const { out } = collect(['event: joined\ndata: {"type":"joined"}\n\n']);
    expect(out).toEqual([{ type: 'joined', data: '{"type":"joined"}', id: '' }]);
  });
  it('handles chunks split anywhere, CRLF and lone CR', () => {
    const text = ': subscribed\r\n\r\nevent: left\r\ndata: a\r\ndata: b\r\n\r\nevent:x\rdata:y\r\r';
    for (let cut = 1; cut < text.length; cut++) {
      const { out } = collect([text.slice(0, cut), text.slice(cut)]);
      expect(out).toEqual([{ type: 'left', data: 'a\nb', id: '' }, { type: 'x', data: 'y', id: '' }]);
    }
  });
  it('ignores comments and events without data, keeps id and retry', () => {
    const { out, p } = collect([': hi\n\nevent: nothing\n\nid: 7\nretry: 3000\ndata\n\n']);
    expect(out).toEqual([{ type: 'message', data: '', id: '7' }]);
    expect(p.retry).toBe(3000);
  });
  it('does not dispatch an unterminated event', () => {
    const { out } = collect(['event: joined\ndata: x\n']);
    expect(out).toEqual([]);
  });
});
