import * as React from 'react';

import { ConsoleModel, IHistoryEntry } from '../console';
import { Wire } from '../types';
import { SchemaForm } from './SchemaForm';
import { CopyBlock } from './Snippets';

/** The error id of a 500 answer (the service log has the traceback under it). */
function errorId(result: Wire.IInvokeResult): string | null {
  const id = result.body?.error_id;
  return typeof id === 'string' ? id : null;
}

function isOk(status: number): boolean {
  return status >= 200 && status < 300;
}

/** The request (form or JSON), Send, the answer and this session's requests. */
export function TestConsole(props: {
  console: ConsoleModel;
  name: string;
}): JSX.Element {
  const { console: model, name } = props;
  const { field, draft, errors } = model;
  const mode = model.mode;
  const history = model.historyOf(name);
  return (
    <div className="jp-Deploy-console">
      <div
        className="jp-Deploy-modeSwitch"
        role="group"
        aria-label="Request view"
      >
        <button
          className={mode === 'form' ? 'jp-mod-active' : ''}
          aria-pressed={mode === 'form'}
          disabled={!field || draft === null}
          title={
            field ? 'Fields from the input schema' : 'No input schema known'
          }
          onClick={() => model.setMode('form')}
        >
          Form
        </button>
        <button
          className={mode === 'json' ? 'jp-mod-active' : ''}
          aria-pressed={mode === 'json'}
          onClick={() => model.setMode('json')}
        >
          JSON
        </button>
      </div>
      {mode === 'form' && field && draft ? (
        <SchemaForm
          field={field}
          draft={draft}
          errors={errors}
          onChange={next => model.setDraft(next)}
        />
      ) : (
        <>
          <textarea
            className="jp-Deploy-json"
            aria-label="Request body (JSON)"
            spellCheck={false}
            rows={Math.min(12, Math.max(3, model.text.split('\n').length))}
            value={model.text}
            onChange={event => model.setText(event.target.value)}
          />
          {errors.map((error, i) => (
            <div className="jp-Deploy-fieldError" role="alert" key={i}>
              {error.path ? `${error.path} ${error.message}` : error.message}
            </div>
          ))}
        </>
      )}
      <button
        className="jp-Button jp-mod-styled jp-mod-accept jp-Deploy-send"
        disabled={errors.length > 0 || model.sending}
        title={errors.length ? 'Fix the marked fields first' : ''}
        onClick={() => void model.send(name)}
      >
        {model.sending ? 'Sending…' : 'Send'}
      </button>
      {model.sendError && (
        <div className="jp-Deploy-error" role="alert">
          {model.sendError}
        </div>
      )}
      {model.result && <Answer result={model.result} />}
      {history.length > 0 && <RequestHistory entries={history} model={model} />}
    </div>
  );
}

function Answer(props: { result: Wire.IInvokeResult }): JSX.Element {
  const { result } = props;
  const id = errorId(result);
  return (
    <div
      className={`jp-Deploy-response ${isOk(result.status) ? 'jp-mod-ok' : 'jp-mod-bad'}`}
      data-status={result.status}
    >
      <div>
        <span className="jp-Deploy-status">{result.status}</span>
        <span className="jp-Deploy-muted">
          {' '}
          · {result.latency_ms.toFixed(1)} ms
        </span>
        {id && (
          <span className="jp-Deploy-errorId">
            {' '}
            · error id <code>{id}</code>
          </span>
        )}
      </div>
      <CopyBlock
        className="jp-Deploy-responseBody"
        label="response"
        text={JSON.stringify(result.body, null, 2)}
      />
    </div>
  );
}

function RequestHistory(props: {
  entries: IHistoryEntry[];
  model: ConsoleModel;
}): JSX.Element {
  return (
    <details className="jp-Deploy-requests" open>
      <summary>Requests sent ({props.entries.length})</summary>
      <ol>
        {props.entries.map(entry => {
          const status = entry.result?.status;
          return (
            <li key={entry.id} data-request={entry.id}>
              <span
                className={`jp-Deploy-status ${status && isOk(status) ? 'jp-mod-ok' : 'jp-mod-bad'}`}
              >
                {status ?? 'no answer'}
              </span>
              <code
                className="jp-Deploy-requestBody"
                title={JSON.stringify(entry.body, null, 2)}
              >
                {JSON.stringify(entry.body)}
              </code>
              <span className="jp-Deploy-muted">
                {new Date(entry.sentAt).toLocaleTimeString()}
              </span>
              <button
                className="jp-Button jp-mod-styled jp-Deploy-replay"
                disabled={props.model.sending}
                onClick={() => void props.model.replay(entry)}
              >
                Replay
              </button>
            </li>
          );
        })}
      </ol>
    </details>
  );
}
