import { describe, expect, it } from 'vitest';
import { livesOn, normalizeApiUri } from '../../src/api-uri.js';

describe('where an app lives', () => {
  it('writes one server one way', () => {
    expect(normalizeApiUri('https://Instant.Example.com/')).toBe('https://instant.example.com');
    expect(normalizeApiUri('http://127.0.0.1:8787')).toBe('http://127.0.0.1:8787');
    expect(normalizeApiUri('https://example.com/instant//')).toBe('https://example.com/instant');
    expect(normalizeApiUri('https://example.com:443')).toBe('https://example.com');
  });

  it('a record naming no server lives on the daemon’s own; one naming another does not', () => {
    const home = normalizeApiUri('https://instant.internal');
    expect(livesOn(null, home)).toBe(true);
    expect(livesOn('https://instant.internal/', home)).toBe(true);
    expect(livesOn('https://api.instantdb.com', home)).toBe(false);
  });
});
