import { expect, test } from '@jupyterlab/galata';

import { openExample, shoot } from './helpers';

test.use({ autoGoto: true, viewport: { width: 1400, height: 1000 } });

test('%deploy shows live progress under the cell and ends Live with the URL', async ({
  page,
  tmpPath
}, testInfo) => {
  // Given the iris example with every cell run (the kernel holds the trained model)
  await openExample(page, tmpPath, 'iris.ipynb');
  await page.notebook.run();
  // When a new cell loads the magics and runs %deploy
  const name = `iris-magic-${Date.now() % 1000000}`;
  await page.notebook.addCell(
    'code',
    `%load_ext jupyter_deploy\n%deploy --name ${name}`
  );
  const index = (await page.notebook.getCellCount()) - 1;
  await page.notebook.runCell(index);
  // Then the widget under the cell goes through the phases to Live, with the stable URL
  const cell = await page.notebook.getCellLocator(index);
  const progress = cell!.locator('.jp-deploy-magic');
  await expect(progress).toContainText('Live', { timeout: 90000 });
  await expect(progress.locator('a')).toHaveAttribute(
    'href',
    /^http:\/\/127\.0\.0\.1:\d+/
  );
  await shoot(cell!, 'magic-deploy', testInfo);
});
