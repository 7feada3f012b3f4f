import { expect, test } from '@jupyterlab/galata';

import { deployByApi, openPanel, shoot, thresholdNotebook } from './helpers';

test.use({ autoGoto: true, viewport: { width: 1400, height: 1000 } });

test("lists two notebooks' deployments and opens one's notebook from the list", async ({
  page,
  tmpPath
}, testInfo) => {
  // Given two notebooks, each deployed under its own name
  const suffix = Date.now() % 1000000;
  const first = { path: `${tmpPath}/low.ipynb`, name: `low-${suffix}` };
  const second = { path: `${tmpPath}/high.ipynb`, name: `high-${suffix}` };
  await page.contents.uploadContent(thresholdNotebook(0.2), 'text', first.path);
  await page.contents.uploadContent(
    thresholdNotebook(0.8),
    'text',
    second.path
  );
  await deployByApi(page, first.path, first.name);

  // When the Deployments view opens from the panel
  const panel = await openPanel(page);
  await panel.getByRole('button', { name: 'All deployments' }).click();
  const view = page.locator('#jupyter-deploy-deployments');
  await expect(view).toBeVisible();
  const row = (name: string) => view.locator(`tr[data-name="${name}"]`);
  await expect(row(first.name)).toContainText(first.path);

  await test.step('A deployment made elsewhere shows up by itself (build events)', async () => {
    await deployByApi(page, second.path, second.name);
    await expect(row(second.name)).toContainText('live');
  });

  await test.step('Each row: name, status, live version, URL, notebook, last deploy', async () => {
    for (const { path, name } of [first, second]) {
      await expect(row(name).locator('.jp-Deploy-badge')).toHaveText('live');
      await expect(row(name)).toContainText('v1');
      await expect(row(name).locator('a')).toHaveAttribute(
        'href',
        /^http:\/\/127\.0\.0\.1:\d+/
      );
      await expect(row(name).locator('.jp-Deploy-notebookLink')).toHaveText(
        path
      );
    }
    // the side panel closed, so the table has the width of the main area
    await page.evaluate(() =>
      window.jupyterapp.commands.execute('application:toggle-right-area')
    );
    await page.evaluate(() =>
      window.jupyterapp.shell.activateById('jupyter-deploy-deployments')
    );
    await shoot(
      view.locator('.jp-Deploy-deployments'),
      'deployments-view',
      testInfo
    );
  });

  await test.step('A click on a notebook opens it', async () => {
    await row(second.name).locator('.jp-Deploy-notebookLink').click();
    await expect
      .poll(() =>
        page.evaluate(
          () => (window as any).jupyterapp.shell.currentWidget?.context?.path
        )
      )
      .toBe(second.path);
  });

  await test.step('Delete from the list, after a confirmation', async () => {
    await page.evaluate(() =>
      window.jupyterapp.commands.execute('jupyter-deploy:open-deployments')
    );
    await row(first.name).getByRole('button', { name: 'Delete' }).click();
    await page
      .locator('.jp-Dialog')
      .getByRole('button', { name: 'Delete' })
      .click();
    await expect(row(first.name)).toHaveCount(0);
    await expect(row(second.name)).toHaveCount(1);
  });
});
