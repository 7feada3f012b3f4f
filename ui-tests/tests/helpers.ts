import { IJupyterLabPageFixture } from '@jupyterlab/galata';
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
