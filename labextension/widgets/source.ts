import { EditorView } from '@codemirror/view';
import { IEditorLanguageRegistry } from '@jupyterlab/codemirror';
import { Widget } from '@lumino/widgets';

import {
  RevealCell,
  createViewer,
  languageOf,
  readOnly,
  setViewerText
} from '../editor';
import { ISourceFile } from '../files';

/**
 * A read-only editor of a bundle's files (predict.py, requirements.txt, deploy.json) with a
 * switcher; block headers of predict.py reveal their notebook cell on click.
 */
export class SourceView extends Widget {
  constructor(options: SourceView.IOptions) {
    super();
    this.addClass('jp-Deploy-source');
    this._options = options;
    const bar = document.createElement('div');
    bar.className = 'jp-Deploy-fileTabs';
    bar.setAttribute('role', 'tablist');
    const note = document.createElement('div');
    note.className = 'jp-Deploy-sourceNote';
    note.textContent = options.note;
    this._host.className = 'jp-Deploy-editorHost';
    for (const file of options.files) {
      const tab = document.createElement('button');
      tab.className = 'jp-Deploy-fileTab';
      tab.setAttribute('role', 'tab');
      tab.textContent = file.path;
      tab.onclick = () => void this.showFile(file.path);
      bar.appendChild(tab);
    }
    this.node.append(bar, note, this._host);
  }

  /** The file shown now. */
  get current(): string | null {
    return this._current;
  }

  /** Show one of the files. */
  async showFile(path: string): Promise<void> {
    const file = this._options.files.find(f => f.path === path);
    if (!file) {
      return;
    }
    this._current = path;
    this.node.querySelectorAll('.jp-Deploy-fileTab').forEach(tab => {
      const active = tab.textContent === path;
      tab.classList.toggle('jp-mod-active', active);
      tab.setAttribute('aria-selected', String(active));
    });
    const language = await languageOf(this._options.languages, path);
    const reveal = path === 'predict.py' ? this._options.reveal : undefined;
    const extensions = readOnly(language, reveal);
    if (this._view) {
      setViewerText(this._view, file.text, extensions);
    } else {
      this._view = createViewer(this._host, file.text, extensions);
    }
  }

  dispose(): void {
    this._view?.destroy();
    super.dispose();
  }

  private _options: SourceView.IOptions;
  private _host = document.createElement('div');
  private _view: EditorView | null = null;
  private _current: string | null = null;
}

export namespace SourceView {
  export interface IOptions {
    files: ISourceFile[];
    /** One line above the editor: where the files come from. */
    note: string;
    languages: IEditorLanguageRegistry | null;
    reveal?: RevealCell;
  }
}
