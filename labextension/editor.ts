/**
 * Read-only CodeMirror 6 views of generated and live files, on JupyterLab's own editor stack
 * (its theme follows the light/dark setting), with clickable block headers naming source cells.
 */
import { MergeView } from '@codemirror/merge';
import { EditorState, Extension, RangeSetBuilder } from '@codemirror/state';
import { Decoration, EditorView } from '@codemirror/view';
import { IEditorLanguageRegistry, jupyterTheme } from '@jupyterlab/codemirror';

import { ICellRef, cellOfHeader } from './blocks';

/** Called when a person clicks a block header: reveal that cell in the notebook. */
export type RevealCell = (cell: ICellRef) => void;

/** The language of a file by its name (python for .py, json for .json, none else). */
export async function languageOf(
  registry: IEditorLanguageRegistry | null,
  path: string
): Promise<Extension> {
  const name = path.endsWith('.py')
    ? 'python'
    : path.endsWith('.json')
      ? 'json'
      : null;
  if (!registry || !name) {
    return [];
  }
  const language = await registry.getLanguage(name);
  return language?.support ?? [];
}

/** Block headers of a module as links to their cells. */
function cellLinks(reveal: RevealCell): Extension {
  const decorations = EditorView.decorations.compute(['doc'], state => {
    const builder = new RangeSetBuilder<Decoration>();
    for (let n = 1; n <= state.doc.lines; n++) {
      const line = state.doc.line(n);
      const cell = cellOfHeader(line.text, n);
      if (cell) {
        const deco = Decoration.line({
          class: 'jp-Deploy-cellLink',
          attributes: {
            title: `Reveal ${cell.label} in the notebook`,
            'data-cell-index': String(cell.index)
          }
        });
        builder.add(line.from, line.from, deco);
      }
    }
    return builder.finish();
  });
  const clicks = EditorView.domEventHandlers({
    click: (event, view) => {
      const pos = view.posAtCoords({ x: event.clientX, y: event.clientY });
      if (pos === null) {
        return false;
      }
      const line = view.state.doc.lineAt(pos);
      const cell = cellOfHeader(line.text, line.number);
      if (!cell) {
        return false;
      }
      reveal(cell);
      return true;
    }
  });
  return [decorations, clicks];
}

/** The extensions of a read-only view of one file. */
export function readOnly(language: Extension, reveal?: RevealCell): Extension {
  return [
    EditorState.readOnly.of(true),
    EditorView.editable.of(false),
    jupyterTheme,
    language,
    reveal ? cellLinks(reveal) : []
  ];
}

/** A read-only editor of `text` in `parent`. */
export function createViewer(
  parent: HTMLElement,
  text: string,
  extensions: Extension
): EditorView {
  return new EditorView({
    parent,
    state: EditorState.create({ doc: text, extensions })
  });
}

/** Replace the text (and language) a viewer shows. */
export function setViewerText(
  view: EditorView,
  text: string,
  extensions: Extension
): void {
  view.setState(EditorState.create({ doc: text, extensions }));
}

/** A side-by-side diff: `live` on the left, `next` on the right. */
export function createDiff(
  parent: HTMLElement,
  live: string,
  next: string,
  extensions: Extension
): MergeView {
  return new MergeView({
    parent,
    a: { doc: live, extensions },
    b: { doc: next, extensions },
    gutter: true,
    highlightChanges: true
  });
}
