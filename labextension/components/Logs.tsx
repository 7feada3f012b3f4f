import * as React from 'react';
import { useEffect, useRef } from 'react';

/** Build logs, kept scrolled to the end while they grow. */
export function Logs(props: { text: string; open: boolean }): JSX.Element {
  const ref = useRef<HTMLPreElement>(null);
  useEffect(() => {
    const node = ref.current;
    if (node) {
      node.scrollTop = node.scrollHeight;
    }
  }, [props.text]);
  return (
    <details className="jp-Deploy-logs" open={props.open}>
      <summary>Logs</summary>
      <pre ref={ref}>{props.text || 'No logs yet.'}</pre>
    </details>
  );
}
