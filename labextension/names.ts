/** Pure helpers: example inputs and client snippets (names come from the server). */

/** The example input as pretty JSON, or `{}` when there is none. */
export function exampleText(example: unknown): string {
  if (example === undefined || example === null) {
    return '{}';
  }
  return JSON.stringify(example, null, 2);
}

/** A copyable curl command that posts `body` to the live `/predict`. */
export function curlSnippet(
  url: string,
  body: string,
  apiKey?: string | null
): string {
  const compact = compactJSON(body);
  const quoted = compact.replace(/'/g, "'\\''");
  return [
    `curl -X POST '${trimSlash(url)}/predict' \\`,
    "  -H 'Content-Type: application/json' \\",
    ...(apiKey ? [`  -H 'X-API-Key: ${apiKey}' \\`] : []),
    `  -d '${quoted}'`
  ].join('\n');
}

/** A copyable Python `requests` snippet that posts `body` to the live `/predict`. */
export function pythonSnippet(
  url: string,
  body: string,
  apiKey?: string | null
): string {
  return [
    'import requests',
    '',
    'response = requests.post(',
    `    "${trimSlash(url)}/predict",`,
    `    json=${pythonLiteral(compactJSON(body))},`,
    ...(apiKey ? [`    headers={"X-API-Key": "${apiKey}"},`] : []),
    '    timeout=30,',
    ')',
    'response.raise_for_status()',
    'print(response.json()["prediction"])'
  ].join('\n');
}

/**
 * A copyable `jupyter_deploy.connect` snippet (the builder's URL and token come from the same
 * settings as the CLI; retries on 503 and typed errors come with it).
 */
export function connectSnippet(
  name: string,
  body: string,
  apiKey?: string | null
): string {
  const key = apiKey ? `, api_key="${apiKey}"` : '';
  return [
    'from jupyter_deploy import connect',
    '',
    `model = connect("${name}"${key})`,
    `print(model.predict(**${pythonLiteral(compactJSON(body))}))`
  ].join('\n');
}

/** The OpenAPI document's address of a live service. */
export function openapiUrl(url: string, given?: string | null): string {
  return given || `${trimSlash(url)}/openapi.json`;
}

function trimSlash(url: string): string {
  return url.replace(/\/+$/, '');
}

function compactJSON(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text));
  } catch {
    return text.trim();
  }
}

/** JSON text as a Python literal (true/false/null become True/False/None). */
export function pythonLiteral(json: string): string {
  let out = '';
  let inString = false;
  for (let i = 0; i < json.length; i++) {
    const ch = json[i];
    if (inString) {
      out += ch;
      if (ch === '\\') {
        out += json[++i] ?? '';
      } else if (ch === '"') {
        inString = false;
      }
      continue;
    }
    if (ch === '"') {
      inString = true;
      out += ch;
      continue;
    }
    const rest = json.slice(i);
    const word = /^(true|false|null)\b/.exec(rest);
    if (word) {
      out += { true: 'True', false: 'False', null: 'None' }[word[1]];
      i += word[1].length - 1;
      continue;
    }
    out += ch;
  }
  return out;
}
