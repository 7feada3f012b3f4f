import { describe, expect, it } from 'vitest';

import {
  connectSnippet,
  curlSnippet,
  pythonLiteral,
  pythonSnippet
} from '../names';

describe('snippets', () => {
  it('carry the API key made in this session', () => {
    const url = 'http://127.0.0.1:9000';
    expect(curlSnippet(url, '{}', 'k-1')).toContain("-H 'X-API-Key: k-1'");
    expect(pythonSnippet(url, '{}', 'k-1')).toContain(
      'headers={"X-API-Key": "k-1"},'
    );
    expect(connectSnippet('iris', '{}', 'k-1')).toContain(
      'connect("iris", api_key="k-1")'
    );
    expect(curlSnippet(url, '{}')).not.toContain('X-API-Key');
  });

  it('calls the deployment by name through jupyter_deploy.connect', () => {
    const text = connectSnippet(
      'iris',
      '{"features": [5.1, 3.5], "strict": true}'
    );
    expect(text).toContain('model = connect("iris")');
    expect(text).toContain(
      'print(model.predict(**{"features":[5.1,3.5],"strict":True}))'
    );
  });

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
