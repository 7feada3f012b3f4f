/** A simple line diff (longest common subsequence), enough for a reviewer. */

export interface IDiffLine {
  /** ' ' unchanged, '+' only in the new text, '-' only in the old text. */
  op: ' ' | '+' | '-';
  text: string;
}

const MAX_CELLS = 4_000_000;

/** The lines of `before` and `after` as a diff, old lines first where they differ. */
export function lineDiff(before: string, after: string): IDiffLine[] {
  const a = splitLines(before);
  const b = splitLines(after);
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) {
    start++;
  }
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--;
    endB--;
  }
  const head = a.slice(0, start).map(text => same(text));
  const tail = a.slice(endA).map(text => same(text));
  const middle = diffMiddle(a.slice(start, endA), b.slice(start, endB));
  return [...head, ...middle, ...tail];
}

/** Whether a diff has any change. */
export function hasChanges(diff: IDiffLine[]): boolean {
  return diff.some(line => line.op !== ' ');
}

function same(text: string): IDiffLine {
  return { op: ' ', text };
}

function splitLines(text: string): string[] {
  if (!text) {
    return [];
  }
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') {
    lines.pop();
  }
  return lines;
}

function diffMiddle(a: string[], b: string[]): IDiffLine[] {
  if ((a.length + 1) * (b.length + 1) > MAX_CELLS) {
    return [
      ...a.map(text => ({ op: '-' as const, text })),
      ...b.map(text => ({ op: '+' as const, text }))
    ];
  }
  const width = b.length + 1;
  const lcs = new Uint32Array((a.length + 1) * width);
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      lcs[i * width + j] =
        a[i] === b[j]
          ? lcs[(i + 1) * width + j + 1] + 1
          : Math.max(lcs[(i + 1) * width + j], lcs[i * width + j + 1]);
    }
  }
  const out: IDiffLine[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    if (a[i] === b[j]) {
      out.push(same(a[i]));
      i++;
      j++;
    } else if (lcs[(i + 1) * width + j] >= lcs[i * width + j + 1]) {
      out.push({ op: '-', text: a[i++] });
    } else {
      out.push({ op: '+', text: b[j++] });
    }
  }
  while (i < a.length) {
    out.push({ op: '-', text: a[i++] });
  }
  while (j < b.length) {
    out.push({ op: '+', text: b[j++] });
  }
  return out;
}
