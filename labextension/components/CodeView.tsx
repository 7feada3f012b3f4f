import * as React from 'react';
import { useMemo } from 'react';

import { IDiffLine, hasChanges, lineDiff } from '../diff';
import { highlightPython } from '../highlight';

/** Read-only Python source with syntax highlighting and line numbers. */
export function CodeView(props: { code: string }): JSX.Element {
  const lines = useMemo(() => highlightPython(props.code), [props.code]);
  return (
    <pre className="jp-Deploy-code" data-lines={lines.length}>
      {lines.map((tokens, index) => (
        <div className="jp-Deploy-codeLine" key={index}>
          <span className="jp-Deploy-lineNo">{index + 1}</span>
          {tokens.map((token, j) => (
            <span key={j} className={token.classes || undefined}>
              {token.text}
            </span>
          ))}
        </div>
      ))}
    </pre>
  );
}

const MARK: { [op: string]: string } = {
  ' ': 'same',
  '+': 'added',
  '-': 'removed'
};

/** The line diff of the live module against the new one, coloured. */
export function DiffView(props: { live: string; next: string }): JSX.Element {
  const diff: IDiffLine[] = useMemo(
    () => lineDiff(props.live, props.next),
    [props.live, props.next]
  );
  if (!hasChanges(diff)) {
    return (
      <div className="jp-Deploy-muted jp-Deploy-noDiff">
        Same module as the live version.
      </div>
    );
  }
  return (
    <pre className="jp-Deploy-diff">
      {diff.map((line, index) => (
        <div
          key={index}
          className={`jp-Deploy-diffLine jp-mod-${MARK[line.op]}`}
        >
          <span className="jp-Deploy-diffOp">{line.op}</span>
          {line.text}
        </div>
      ))}
    </pre>
  );
}
