/** Read-only Python highlighting with the Lezer parser JupyterLab's editor uses. */
import { classHighlighter, highlightCode } from '@lezer/highlight';
import { parser } from '@lezer/python';

/** A run of text and its highlight classes (`tok-keyword`, ...; '' for none). */
export interface IToken {
  text: string;
  classes: string;
}

/** Python source as lines of tokens. */
export function highlightPython(code: string): IToken[][] {
  const lines: IToken[][] = [[]];
  highlightCode(
    code,
    parser.parse(code),
    classHighlighter,
    (text, classes) => {
      lines[lines.length - 1].push({ text, classes });
    },
    () => {
      lines.push([]);
    }
  );
  if (lines.length > 1 && lines[lines.length - 1].length === 0) {
    lines.pop();
  }
  return lines;
}
