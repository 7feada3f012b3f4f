import * as React from 'react';
import { useState } from 'react';

import { Wire } from '../types';
import { CodeView, DiffView } from './CodeView';

/** Names of the values the deploy captures, from the preview's `artifacts`. */
function artifactNames(artifacts: unknown): string[] {
  if (!Array.isArray(artifacts)) {
    return [];
  }
  return artifacts
    .map(item => (typeof item === 'string' ? item : item?.name))
    .filter((name): name is string => typeof name === 'string');
}

/** The generated module (preview, else live) and its diff against the live one. */
export function ModuleSection(props: {
  preview: Wire.IPreview | null;
  liveModule: string | null;
}): JSX.Element | null {
  const { preview, liveModule } = props;
  const [tab, setTab] = useState<'module' | 'diff'>('module');
  const module = preview?.module ?? liveModule;
  if (module === null || module === undefined) {
    return null;
  }
  const canDiff = !!preview && liveModule !== null;
  const shown = canDiff ? tab : 'module';
  const requirements = Array.isArray(preview?.requirements)
    ? preview?.requirements.join('\n')
    : (preview?.requirements ?? '');
  const artifacts = artifactNames(preview?.artifacts);
  return (
    <section className="jp-Deploy-module">
      <div className="jp-Deploy-tabs" role="tablist">
        <button
          role="tab"
          aria-selected={shown === 'module'}
          className={shown === 'module' ? 'jp-mod-active' : ''}
          onClick={() => setTab('module')}
        >
          {preview ? 'Generated module' : 'Live module'}
        </button>
        {canDiff && (
          <button
            role="tab"
            aria-selected={shown === 'diff'}
            className={shown === 'diff' ? 'jp-mod-active' : ''}
            onClick={() => setTab('diff')}
          >
            Diff against live
          </button>
        )}
      </div>
      {preview && preview.warnings.length > 0 && (
        <ul className="jp-Deploy-warnings">
          {preview.warnings.map((warning, index) => (
            <li key={index}>{warning}</li>
          ))}
        </ul>
      )}
      {shown === 'module' ? (
        <CodeView code={module} />
      ) : (
        <DiffView live={liveModule ?? ''} next={preview?.module ?? ''} />
      )}
      {artifacts.length > 0 && (
        <div className="jp-Deploy-artifacts jp-Deploy-muted">
          Captured from the kernel: {artifacts.join(', ')}
        </div>
      )}
      {requirements && (
        <details className="jp-Deploy-requirements">
          <summary>requirements.txt</summary>
          <pre>{requirements}</pre>
        </details>
      )}
    </section>
  );
}
