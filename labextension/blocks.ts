/**
 * The blocks of a generated predict.py: each starts with a comment naming its source cell,
 * `# --- cell 4 (id 'c3f1'), tagged predict ---...` (see jupyter_deploy/compiler/emit.py).
 */

/** One block's header: where it is in the module and the notebook cell it comes from. */
export interface ICellRef {
  /** 1-based line of the header in the module. */
  line: number;
  /** How the module names the cell, e.g. `cell 4 (id 'c3f1')`. */
  label: string;
  /** The cell's 1-based position among all the notebook's cells. */
  index: number;
  /** The cell's id, when the notebook has ids. */
  id: string | null;
  /** `predict`, `setup` or '' for an ordinary cell. */
  role: string;
}

const HEADER = /^# --- (cell (\d+)(?: \(id '([^']*)'\))?)(?:, tagged (\w+))?/;

/** The cell named by one line of a module, or null when it is not a block header. */
export function cellOfHeader(text: string, line = 0): ICellRef | null {
  const match = HEADER.exec(text);
  if (!match) {
    return null;
  }
  return {
    line,
    label: match[1],
    index: Number(match[2]),
    id: match[3] || null,
    role: match[4] ?? ''
  };
}

/** Every block header of a module, in order. */
export function moduleBlocks(module: string): ICellRef[] {
  const blocks: ICellRef[] = [];
  module.split('\n').forEach((text, i) => {
    const cell = cellOfHeader(text, i + 1);
    if (cell) {
      blocks.push(cell);
    }
  });
  return blocks;
}

/**
 * The position (0-based) of a block's cell in a notebook's list of cell ids: by id when the
 * cell still has it, else by the 1-based index the module was generated with.
 */
export function findCell(ids: string[], cell: ICellRef): number | null {
  if (cell.id) {
    const byId = ids.indexOf(cell.id);
    if (byId >= 0) {
      return byId;
    }
  }
  const position = cell.index - 1;
  return position >= 0 && position < ids.length ? position : null;
}
