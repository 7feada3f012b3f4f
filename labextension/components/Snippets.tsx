import { Clipboard } from '@jupyterlab/apputils';
import * as React from 'react';
import { useState } from 'react';

import { curlSnippet, openapiUrl, pythonSnippet } from '../names';

/** A block of text with a Copy button. */
export function CopyBlock(props: {
  text: string;
  className?: string;
  label?: string;
}): JSX.Element {
  const [copied, setCopied] = useState(false);
  return (
    <div className={`jp-Deploy-copy ${props.className ?? ''}`}>
      <pre>{props.text}</pre>
      <button
        className="jp-Button jp-mod-styled jp-Deploy-copyButton"
        title="Copy to the clipboard"
        aria-label={`Copy ${props.label ?? 'text'}`}
        onClick={() => {
          Clipboard.copyToSystem(props.text);
          setCopied(true);
          window.setTimeout(() => setCopied(false), 1500);
        }}
      >
        {copied ? 'Copied' : 'Copy'}
      </button>
    </div>
  );
}

/** Copyable curl and Python snippets for the live URL, and its OpenAPI link. */
export function Snippets(props: {
  url: string;
  body: string;
  openapi: string | null;
}): JSX.Element {
  const { url, body } = props;
  return (
    <section className="jp-Deploy-snippets">
      <div className="jp-Deploy-sectionTitle">Call it</div>
      <div className="jp-Deploy-muted">curl</div>
      <CopyBlock label="curl command" text={curlSnippet(url, body)} />
      <div className="jp-Deploy-muted">Python (requests)</div>
      <CopyBlock label="Python snippet" text={pythonSnippet(url, body)} />
      <a
        className="jp-Deploy-openapi"
        href={openapiUrl(url, props.openapi)}
        target="_blank"
        rel="noreferrer"
      >
        OpenAPI document
      </a>
    </section>
  );
}
