import { expect, test } from '@jupyterlab/galata';

import { dismissNotifications, openExample, openPanel, shoot } from './helpers';

test.use({ autoGoto: true, viewport: { width: 1400, height: 1000 } });

/** Time for one build on the embedded local backend. */
const BUILD_TIMEOUT = 90000;

test('deploys, starts a canary, shows both versions side by side and promotes', async ({
  page,
  tmpPath
}, testInfo) => {
  // Given the iris example deployed once (version 1 live)
  await openExample(page, tmpPath, 'iris.ipynb');
  await page.notebook.run();
  const panel = await openPanel(page);
  const name = `iris-canary-${Date.now() % 1000000}`;
  await panel.getByLabel('Deployment name').fill(name);
  await panel.getByRole('button', { name: 'Deploy', exact: true }).click();
  await expect(panel.locator('.jp-Deploy-live')).toContainText('v1', {
    timeout: BUILD_TIMEOUT
  });
  await dismissNotifications(page);

  await test.step('Canary 50%: both versions appear side by side', async () => {
    await panel.getByLabel('Canary percent').fill('50');
    await panel.getByRole('button', { name: 'Canary', exact: true }).click();
    const split = panel.locator('.jp-Deploy-split');
    await expect(split).toContainText(
      'Canary: version 2 answers 50% of requests',
      { timeout: BUILD_TIMEOUT }
    );
    await expect(split.locator('thead')).toContainText('Current (v1)');
    await expect(split.locator('thead')).toContainText('New (v2)');
    // traffic through the stable URL shows up in both columns
    for (let i = 0; i < 6; i++) {
      await panel.getByRole('button', { name: 'Send', exact: true }).click();
      await expect(panel.locator('.jp-Deploy-response')).toHaveAttribute(
        'data-status',
        '200'
      );
    }
    const requests = split.locator('tr', { hasText: 'Requests' });
    await expect(requests.locator('td').nth(0)).not.toHaveText('0');
    await expect(requests.locator('td').nth(1)).not.toHaveText('0');
    await dismissNotifications(page).catch(() => undefined);
    await shoot(split, 'panel-canary', testInfo);
    await shoot(panel, 'panel-canary-panel', testInfo);
  });

  await test.step('Promote: version 2 is live alone, the split is gone', async () => {
    await panel.getByRole('button', { name: 'Promote', exact: true }).click();
    await expect(panel.locator('.jp-Deploy-split')).toHaveCount(0);
    await expect(panel.locator('.jp-Deploy-live')).toContainText('v2');
  });
});
