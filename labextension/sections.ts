/** Which sections of the panel are open: the person's choice, kept in JupyterLab's state DB. */
import { IStateDB } from '@jupyterlab/statedb';
import { ISignal, Signal } from '@lumino/signaling';

/** The panel's sections, in order. */
export const SECTIONS = [
  'status',
  'test',
  'traffic',
  'code',
  'history'
] as const;
export type SectionId = (typeof SECTIONS)[number];

export const SECTION_TITLES: { [id in SectionId]: string } = {
  status: 'Status and logs',
  test: 'Test',
  traffic: 'Traffic',
  code: 'Code',
  history: 'History'
};

const STATE_KEY = 'jupyter-deploy:sections';

export class Sections {
  /** `state`: where the choice is kept (the workspace); none keeps it for the session only. */
  constructor(state: IStateDB | null = null) {
    this._state = state;
  }

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  isOpen(id: SectionId): boolean {
    return !this._closed.has(id);
  }

  /** Fold or unfold a section, and remember it. */
  toggle(id: SectionId): void {
    if (this._closed.has(id)) {
      this._closed.delete(id);
    } else {
      this._closed.add(id);
    }
    this._changed.emit();
    void this._state?.save(STATE_KEY, { closed: [...this._closed] });
  }

  /** Take the choice saved in an earlier session. */
  async restore(): Promise<void> {
    const saved = (await this._state?.fetch(STATE_KEY)) as
      { closed?: unknown } | undefined;
    const closed = Array.isArray(saved?.closed) ? saved!.closed : [];
    this._closed = new Set(
      closed.filter((id): id is SectionId => SECTIONS.includes(id))
    );
    this._changed.emit();
  }

  private _state: IStateDB | null;
  private _closed = new Set<SectionId>();
  private _changed = new Signal<this, void>(this);
}
