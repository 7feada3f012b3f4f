import { IJupyterLabPageFixture, expect } from '@jupyterlab/galata';
import { Locator, TestInfo } from '@playwright/test';
import * as fs from 'fs';
import * as path from 'path';

export const PANEL_ID = 'jupyter-deploy-panel';
export const EXAMPLES = path.resolve(__dirname, '..', '..', 'examples');
export const SHOTS = path.resolve(
  __dirname,
  '..',
  'test-results',
  'screenshots'
);

/** The Deploy panel, opened through its command, made wide enough to read. */
export async function openPanel(
  page: IJupyterLabPageFixture
): Promise<Locator> {
  await page.evaluate(async () => {
    await window.jupyterapp.commands.execute('jupyter-deploy:open-panel');
  });
  const panel = page.locator(`#${PANEL_ID}`);
  await panel.waitFor({ state: 'visible' });
  await page.sidebar.setWidth(520, 'right');
  return panel;
}

/** Close every notification toast (they cover the bottom of the sidebar). */
export async function dismissNotifications(
  page: IJupyterLabPageFixture
): Promise<void> {
  await page.evaluate(async () => {
    await window.jupyterapp.commands.execute('apputils:dismiss-notification');
  });
  await page.locator('.Toastify__toast').first().waitFor({ state: 'detached' });
}

/** Save a screenshot of `target` as an artifact (and in the HTML report). */
export async function shoot(
  target: Locator,
  name: string,
  testInfo: TestInfo
): Promise<void> {
  fs.mkdirSync(SHOTS, { recursive: true });
  const file = path.join(SHOTS, `${name}.png`);
  await target.scrollIntoViewIfNeeded();
  await target.screenshot({ path: file });
  await testInfo.attach(name, { path: file, contentType: 'image/png' });
}

/** Upload a notebook from examples/ into the test's folder and open it. */
export async function openExample(
  page: IJupyterLabPageFixture,
  tmpPath: string,
  name: string
): Promise<void> {
  await page.contents.uploadFile(
    path.join(EXAMPLES, name),
    `${tmpPath}/${name}`
  );
  await page.notebook.openByPath(`${tmpPath}/${name}`);
  await page.notebook.activate(name);
}

/** A notebook with code but no cell tagged predict. */
export function brokenNotebook(): string {
  return JSON.stringify({
    cells: [
      {
        cell_type: 'code',
        execution_count: null,
        id: 'a1',
        metadata: {},
        outputs: [],
        source: ['def predict(x):\n', '    return x\n']
      }
    ],
    metadata: {
      kernelspec: {
        display_name: 'Python 3',
        language: 'python',
        name: 'python3'
      }
    },
    nbformat: 4,
    nbformat_minor: 5
  });
}

/** A code cell of {@link notebookOf}: its source and tags. */
export interface ICellSpec {
  source: string;
  tags?: string[];
  id?: string;
}

/** A Python notebook (nbformat 4.5) with these code cells, as JSON text. */
export function notebookOf(cells: ICellSpec[]): string {
  return JSON.stringify({
    cells: cells.map((cell, i) => ({
      cell_type: 'code',
      execution_count: null,
      id: cell.id ?? `c${i + 1}`,
      metadata: cell.tags ? { tags: cell.tags } : {},
      outputs: [],
      source: cell.source
    })),
    metadata: {
      kernelspec: {
        display_name: 'Python 3',
        language: 'python',
        name: 'python3'
      }
    },
    nbformat: 4,
    nbformat_minor: 5
  });
}

/** A model with no captured values: a threshold on one number (deploys without a kernel). */
export function thresholdNotebook(threshold: number): string {
  return notebookOf([
    { source: `THRESHOLD = ${threshold}` },
    {
      source:
        'def predict(x: float) -> bool:\n    """Whether x is over the threshold."""\n    return x > THRESHOLD',
      tags: ['predict']
    },
    { source: 'example = {"x": 0.6}', tags: ['example'] }
  ]);
}

/** Time for one build on the embedded local backend. */
export const BUILD_TIMEOUT = 90000;

/**
 * Deploy a saved notebook through the server extension's REST API (what the panel's Deploy
 * button calls) and wait until the deployment is live.
 */
export async function deployByApi(
  page: IJupyterLabPageFixture,
  notebookPath: string,
  name: string
): Promise<void> {
  const api = '/jupyter-deploy/api';
  const started = await page.request.post(`${api}/deployments`, {
    data: { path: notebookPath, name }
  });
  expect(started.status(), await started.text()).toBe(202);
  const build = await started.json();
  let final: { phase: string; error: unknown } = { phase: '', error: null };
  await expect
    .poll(
      async () => {
        const answer = await page.request.get(`${api}/builds/${build.id}`);
        final = await answer.json();
        return final.phase === 'live' || final.phase === 'failed';
      },
      { timeout: BUILD_TIMEOUT, intervals: [500] }
    )
    .toBe(true);
  if (final.phase !== 'live') {
    const logs = await page.request.get(`${api}/builds/${build.id}/logs`);
    const text = (await logs.json()).text;
    throw new Error(
      `${name} did not go live: ${JSON.stringify(final.error)}\n${text}`
    );
  }
}
