import { Clipboard } from '@jupyterlab/apputils';
import * as React from 'react';
import { useState } from 'react';

import { DeployModel } from '../model';
import {
  connectSnippet,
  curlSnippet,
  openapiUrl,
  pythonSnippet
} from '../names';
import { useModel } from './hooks';

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
  name: string;
  url: string;
  body: string;
  openapi: string | null;
  /** The API key made in this session, if any (the snippets send it). */
  apiKey?: string | null;
}): JSX.Element {
  const { url, body, apiKey } = props;
  return (
    <div className="jp-Deploy-snippets">
      <h3>curl</h3>
      <CopyBlock label="curl command" text={curlSnippet(url, body, apiKey)} />
      <h3>Python (requests)</h3>
      <CopyBlock
        label="Python snippet"
        text={pythonSnippet(url, body, apiKey)}
      />
      <h3>Python (jupyter_deploy.connect)</h3>
      <CopyBlock
        label="connect snippet"
        text={connectSnippet(props.name, body, apiKey)}
      />
      <a
        className="jp-Deploy-openapi"
        href={openapiUrl(url, props.openapi)}
        target="_blank"
        rel="noreferrer"
      >
        OpenAPI document
      </a>
    </div>
  );
}

/** The snippets tab: follows the console's request body and the live URL. */
export function SnippetsView(props: { model: DeployModel }): JSX.Element {
  const model = useModel(props.model);
  const deployment = model.deployment;
  if (!deployment?.url) {
    return (
      <div className="jp-Deploy-snippetsView jp-Deploy-muted">
        Nothing of "{model.name}" is live: deploy it to call it.
      </div>
    );
  }
  return (
    <div className="jp-Deploy-snippetsView">
      <p className="jp-Deploy-muted">
        Call <b>{deployment.name}</b> v{deployment.live_version} with the test
        console's request.
      </p>
      <Snippets
        name={deployment.name}
        url={deployment.url}
        body={model.console.text}
        apiKey={model.console.apiKey}
        openapi={deployment.openapi_url}
      />
    </div>
  );
}
