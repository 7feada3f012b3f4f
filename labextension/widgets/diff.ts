import { MergeView } from '@codemirror/merge';
import { IEditorLanguageRegistry } from '@jupyterlab/codemirror';
import { Widget } from '@lumino/widgets';

import { moduleBlocks } from '../blocks';
import { RevealCell, createDiff, languageOf, readOnly } from '../editor';

/** One file compared: what is live and what the notebook generates now. */
export interface IFileDiff {
  path: string;
  /** The live version's text; null when nothing is live. */
  live: string | null;
  next: string;
}

/**
 * Side-by-side diffs (CodeMirror's merge view) of the live files against the ones the notebook
 * generates now; each block of predict.py names its cell, a click on it reveals that cell.
 */
export class DiffView extends Widget {
  constructor(options: DiffView.IOptions) {
    super();
    this.addClass('jp-Deploy-diffView');
    this._ready = this._render(options);
  }

  /** Resolves when every diff is drawn. */
  get ready(): Promise<void> {
    return this._ready;
  }

  dispose(): void {
    this._views.forEach(view => view.destroy());
    super.dispose();
  }

  private async _render(options: DiffView.IOptions): Promise<void> {
    const legend = element('div', 'jp-Deploy-diffLegend');
    legend.append(
      element('span', 'jp-Deploy-diffSide', options.liveLabel),
      element('span', 'jp-Deploy-diffSide', options.nextLabel)
    );
    this.node.appendChild(legend);
    for (const file of options.files) {
      const section = element('section', 'jp-Deploy-diffFile');
      section.dataset.path = file.path;
      section.appendChild(element('h3', 'jp-Deploy-diffTitle', file.path));
      this.node.appendChild(section);
      if (file.live === null) {
        section.appendChild(
          element(
            'p',
            'jp-Deploy-muted',
            'Nothing is live yet to compare with.'
          )
        );
        continue;
      }
      if (file.live === file.next) {
        section.appendChild(
          element('p', 'jp-Deploy-muted jp-Deploy-noDiff', 'No change.')
        );
      }
      const isModule = file.path === 'predict.py';
      if (isModule && options.reveal) {
        section.appendChild(cellBar(file.next, options.reveal));
      }
      const language = await languageOf(options.languages, file.path);
      const reveal = isModule ? options.reveal : undefined;
      const host = element('div', 'jp-Deploy-mergeHost');
      section.appendChild(host);
      this._views.push(
        createDiff(host, file.live, file.next, readOnly(language, reveal))
      );
    }
  }

  private _ready: Promise<void>;
  private _views: MergeView[] = [];
}

export namespace DiffView {
  export interface IOptions {
    files: IFileDiff[];
    liveLabel: string;
    nextLabel: string;
    languages: IEditorLanguageRegistry | null;
    reveal?: RevealCell;
  }
}

/** The source cells of the module's blocks, as buttons that reveal them. */
function cellBar(module: string, reveal: RevealCell): HTMLElement {
  const bar = element('div', 'jp-Deploy-cellBar');
  bar.appendChild(element('span', 'jp-Deploy-muted', 'Blocks from: '));
  for (const cell of moduleBlocks(module)) {
    const role = cell.role ? ` · ${cell.role}` : '';
    const button = element('button', 'jp-Deploy-cellButton', cell.label + role);
    button.title = `Reveal ${cell.label} in the notebook`;
    button.onclick = () => reveal(cell);
    bar.appendChild(button);
  }
  return bar;
}

function element<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  className: string,
  text?: string
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  node.className = className;
  if (text !== undefined) {
    node.textContent = text;
  }
  return node;
}
