import * as React from 'react';

import { DeployModel } from '../model';
import { CopyBlock } from './Snippets';

function parseError(text: string): string | null {
  try {
    JSON.parse(text);
    return null;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

/** A JSON editor for the request, a Send button and the response. */
export function TestConsole(props: { model: DeployModel }): JSX.Element {
  const { model } = props;
  const result = model.invokeResult;
  const invalid = parseError(model.consoleInput);
  const ok = result && result.status >= 200 && result.status < 300;
  return (
    <section className="jp-Deploy-console">
      <div className="jp-Deploy-sectionTitle">Test console</div>
      <textarea
        className="jp-Deploy-json"
        aria-label="Request body (JSON)"
        spellCheck={false}
        rows={Math.min(12, Math.max(3, model.consoleInput.split('\n').length))}
        value={model.consoleInput}
        onChange={event => {
          model.consoleInput = event.target.value;
        }}
      />
      {invalid && (
        <div className="jp-Deploy-jsonError">Not valid JSON: {invalid}</div>
      )}
      <button
        className="jp-Button jp-mod-styled jp-mod-accept jp-Deploy-send"
        disabled={!!invalid || model.busy === 'invoke'}
        onClick={() => void model.invoke()}
      >
        {model.busy === 'invoke' ? 'Sending…' : 'Send'}
      </button>
      {result && (
        <div
          className={`jp-Deploy-response ${ok ? 'jp-mod-ok' : 'jp-mod-bad'}`}
          data-status={result.status}
        >
          <div>
            <span className="jp-Deploy-status">{result.status}</span>
            <span className="jp-Deploy-muted">
              {' '}
              · {result.latency_ms.toFixed(1)} ms
            </span>
          </div>
          <CopyBlock
            className="jp-Deploy-responseBody"
            text={JSON.stringify(result.body, null, 2)}
          />
        </div>
      )}
    </section>
  );
}
