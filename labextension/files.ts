/** The files a reviewer reads: generated ones from a preview, live ones from the build service. */
import { Wire } from './types';

/** A file of a bundle, by its name in the bundle. */
export interface ISourceFile {
  path: Wire.LiveFile;
  text: string;
}

/** The files a reviewer opens, in the order of the tab's switcher. */
export const REVIEW_FILES: Wire.LiveFile[] = [
  'predict.py',
  'requirements.txt',
  'deploy.json'
];

/** The files the diff compares (deploy.json changes with every notebook save). */
export const DIFF_FILES: Wire.LiveFile[] = ['predict.py', 'requirements.txt'];

/** requirements.txt as text (the server answers a string; older answers a list). */
export function requirementsText(requirements: string[] | string): string {
  if (Array.isArray(requirements)) {
    return requirements.map(line => `${line}\n`).join('');
  }
  return requirements;
}

/** The generated files of a preview, as the bundle will hold them. */
export function generatedFiles(preview: Wire.IPreview): ISourceFile[] {
  return [
    { path: 'predict.py', text: preview.module },
    { path: 'requirements.txt', text: requirementsText(preview.requirements) },
    {
      path: 'deploy.json',
      text: JSON.stringify(preview.metadata, sortedKeys, 2) + '\n'
    }
  ];
}

/** A JSON.stringify replacer that writes object keys sorted (as deploy.json is written). */
function sortedKeys(_: string, value: unknown): unknown {
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    const sorted: { [key: string]: unknown } = {};
    for (const key of Object.keys(value).sort()) {
      sorted[key] = (value as { [key: string]: unknown })[key];
    }
    return sorted;
  }
  return value;
}
