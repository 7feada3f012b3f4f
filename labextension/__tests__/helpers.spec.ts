import { describe, expect, it } from 'vitest';

import { curlSnippet, pythonLiteral, pythonSnippet } from '../names';

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
