import * as React from 'react';

import { CommandIDs } from '../commands';
import { Wire } from '../types';

/** Names of the values the deploy captures, from the preview's `artifacts`. */
function artifactNames(artifacts: unknown): string[] {
  if (!Array.isArray(artifacts)) {
    return [];
  }
  return artifacts
    .map(item => (typeof item === 'string' ? item : item?.name))
    .filter((name): name is string => typeof name === 'string');
}

/**
 * The generated module's review: buttons that open it, and its diff against live, in the main
 * area (a sidebar is too narrow for code), with the compiler's warnings.
 */
export function ModuleSection(props: {
  preview: Wire.IPreview | null;
  canDiff: boolean;
  busy: boolean;
  run: (command: string) => void;
}): JSX.Element {
  const { preview } = props;
  const artifacts = artifactNames(preview?.artifacts);
  return (
    <div className="jp-Deploy-module">
      <div className="jp-Deploy-actions">
        <button
          className="jp-Button jp-mod-styled jp-Deploy-openModule"
          disabled={props.busy}
          onClick={() => props.run(CommandIDs.openModule)}
        >
          Open module
        </button>
        <button
          className="jp-Button jp-mod-styled jp-Deploy-openDiff"
          disabled={props.busy || !props.canDiff}
          title={props.canDiff ? '' : 'Nothing is live yet to compare with'}
          onClick={() => props.run(CommandIDs.diffLive)}
        >
          Diff against live
        </button>
      </div>
      {preview && preview.warnings.length > 0 && (
        <ul className="jp-Deploy-warnings">
          {preview.warnings.map((warning, index) => (
            <li key={index}>{warning}</li>
          ))}
        </ul>
      )}
      {artifacts.length > 0 && (
        <div className="jp-Deploy-artifacts jp-Deploy-muted">
          Captured from the kernel: {artifacts.join(', ')}
        </div>
      )}
    </div>
  );
}
