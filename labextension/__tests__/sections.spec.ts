import { StateDB } from '@jupyterlab/statedb';
import { describe, expect, it } from 'vitest';

import { Sections } from '../sections';

describe('Sections', () => {
  it('starts with every section open', () => {
    const sections = new Sections();
    expect(
      ['status', 'test', 'code', 'history'].map(id =>
        sections.isOpen(id as any)
      )
    ).toEqual([true, true, true, true]);
  });

  it("remembers the person's choice in the state DB for the next session", async () => {
    // Given a person who folds the code and history sections
    const state = new StateDB();
    const first = new Sections(state);
    let changes = 0;
    first.changed.connect(() => changes++);
    first.toggle('code');
    first.toggle('history');
    first.toggle('history');
    first.toggle('status');
    // When JupyterLab starts again with the same workspace state
    const next = new Sections(state);
    await next.restore();
    // Then the same sections are folded
    expect(changes).toBe(4);
    expect(next.isOpen('code')).toBe(false);
    expect(next.isOpen('status')).toBe(false);
    expect(next.isOpen('history')).toBe(true);
    expect(next.isOpen('test')).toBe(true);
  });

  it('ignores a saved state it does not understand', async () => {
    const state = new StateDB();
    await state.save('jupyter-deploy:sections', { closed: ['nonsense', 3] });
    const sections = new Sections(state);
    await sections.restore();
    expect(sections.isOpen('code')).toBe(true);
  });
});
