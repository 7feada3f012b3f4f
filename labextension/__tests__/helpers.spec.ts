import { describe, expect, it } from 'vitest';

import { hasChanges, lineDiff } from '../diff';
import { highlightPython } from '../highlight';
import { curlSnippet, pythonLiteral, pythonSnippet } from '../names';

describe('lineDiff', () => {
  it('marks removed and added lines and keeps common ones', () => {
    // Given the live module and a new one that changed one line
    const live = 'import x\ndef predict(a):\n    return 1\n';
    const next = 'import x\ndef predict(a):\n    return 2\n# end\n';
    // When they are diffed
    const diff = lineDiff(live, next);
    // Then only the changed line is removed and added, and the new one added
    expect(diff).toEqual([
      { op: ' ', text: 'import x' },
      { op: ' ', text: 'def predict(a):' },
      { op: '-', text: '    return 1' },
      { op: '+', text: '    return 2' },
      { op: '+', text: '# end' }
    ]);
    expect(hasChanges(diff)).toBe(true);
  });

  it('finds no change between equal texts', () => {
    expect(hasChanges(lineDiff('a\nb\n', 'a\nb\n'))).toBe(false);
  });
});

describe('highlightPython', () => {
  it('classes keywords and strings, one array per line', () => {
    const lines = highlightPython('def predict(x):\n    return "a"\n');
    expect(lines).toHaveLength(2);
    expect(lines[0][0]).toEqual({ text: 'def', classes: 'tok-keyword' });
    expect(lines[1].some(t => t.classes.includes('tok-string'))).toBe(true);
    expect(lines.map(l => l.map(t => t.text).join('')).join('\n')).toBe(
      'def predict(x):\n    return "a"'
    );
  });
});

describe('snippets', () => {
  it('posts the body to /predict in curl with quotes escaped', () => {
    const text = curlSnippet('http://127.0.0.1:9000/', '{"name": "O\'Brien"}');
    expect(text).toContain("'http://127.0.0.1:9000/predict'");
    expect(text).toContain(`-d '{"name":"O'\\''Brien"}'`);
  });

  it('writes JSON as a Python literal in the requests snippet', () => {
    expect(pythonLiteral('{"a":true,"b":[null,false],"c":"true"}')).toBe(
      '{"a":True,"b":[None,False],"c":"true"}'
    );
    expect(pythonSnippet('http://h:1', '{"features": [1]}')).toContain(
      'json={"features":[1]},'
    );
  });
});
