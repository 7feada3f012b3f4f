import { expect, test } from '@jupyterlab/galata';

import { deployByApi, openPanel, shoot, thresholdNotebook } from './helpers';

test.use({ autoGoto: true, viewport: { width: 1400, height: 1000 } });

test('opens the module and its diff against live in the main area; a block reveals its cell', async ({
  page,
  tmpPath
}, testInfo) => {
  // Given a model deployed with THRESHOLD = 0.5, then its notebook changed to 0.7
  const path = `${tmpPath}/threshold.ipynb`;
  const name = `threshold-${Date.now() % 1000000}`;
  await page.contents.uploadContent(thresholdNotebook(0.5), 'text', path);
  await deployByApi(page, path, name);
  await page.contents.uploadContent(thresholdNotebook(0.7), 'text', path);
  await page.notebook.openByPath(path);
  await page.notebook.activate('threshold.ipynb');
  const panel = await openPanel(page);
  await panel.getByLabel('Deployment name').fill(name);
  await panel.getByLabel('Deployment name').press('Tab');

  await test.step('Open module: predict.py, requirements.txt and deploy.json, read-only', async () => {
    await panel.getByRole('button', { name: 'Open module' }).click();
    const tab = page.locator(`#jupyter-deploy-module-${name}`);
    await expect(tab).toBeVisible();
    const editor = tab.locator('.cm-content');
    await expect(editor).toContainText('THRESHOLD = 0.7');
    await expect(editor).toContainText('def predict(x: float) -> bool:');
    await expect(editor).toHaveAttribute('contenteditable', 'false');
    await shoot(tab, 'module-tab', testInfo);
    await tab.getByRole('tab', { name: 'deploy.json' }).click();
    await expect(editor).toContainText('"input_schema"');
    await tab.getByRole('tab', { name: 'requirements.txt' }).click();
    await expect(editor).not.toContainText('THRESHOLD');
  });

  await test.step('Diff against live: the threshold changed from 0.5 to 0.7', async () => {
    await panel.getByRole('button', { name: 'Diff against live' }).click();
    const tab = page.locator(`#jupyter-deploy-diff-${name}`);
    const module = tab.locator('section[data-path="predict.py"]');
    await expect(module.locator('.cm-merge-a .cm-changedLine')).toContainText(
      'THRESHOLD = 0.5'
    );
    await expect(module.locator('.cm-merge-b .cm-changedLine')).toContainText(
      'THRESHOLD = 0.7'
    );
    await expect(module.locator('.cm-merge-b .cm-changedLine')).toHaveCount(1);
    await expect(
      tab.locator('section[data-path="requirements.txt"]')
    ).toContainText('No change.');
    await shoot(tab, 'diff-tab', testInfo);
  });

  await test.step('A click on a block names and reveals its source cell', async () => {
    const tab = page.locator(`#jupyter-deploy-diff-${name}`);
    await tab
      .getByRole('button', { name: "cell 2 (id 'c2') · predict" })
      .click();
    await expect
      .poll(() =>
        page.evaluate(() => {
          const current = (window as any).jupyterapp.shell.currentWidget;
          return [current?.context?.path, current?.content?.activeCellIndex];
        })
      )
      .toEqual([path, 1]);
  });
});
