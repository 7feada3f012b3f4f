import { IJupyterLabPageFixture, expect, test } from '@jupyterlab/galata';
import { Locator } from '@playwright/test';

import { dismissNotifications, openExample, openPanel, shoot } from './helpers';

test.use({ autoGoto: true, viewport: { width: 1400, height: 1000 } });

/** Time for one build on the embedded local backend. */
const BUILD_TIMEOUT = 90000;

async function deployAndWaitLive(
  page: IJupyterLabPageFixture,
  panel: Locator,
  version: number
): Promise<void> {
  await panel.getByRole('button', { name: 'Deploy', exact: true }).click();
  await expect(panel.locator('.jp-Deploy-timeline')).toBeVisible();
  await expect(panel.locator('.jp-Deploy-live')).toContainText(`v${version}`, {
    timeout: BUILD_TIMEOUT
  });
  // the build's notification appears when it ends; it covers the sidebar's bottom
  await expect(page.locator('.Toastify__toast')).toContainText('is live');
  await dismissNotifications(page);
}

test('deploys the iris example, answers in the console, redeploys and rolls back', async ({
  page,
  tmpPath
}, testInfo) => {
  // Given the iris example open, all its cells run (the kernel holds the trained model)
  await openExample(page, tmpPath, 'iris.ipynb');
  await page.notebook.run();
  const panel = await openPanel(page);
  await expect(panel.getByLabel('Deployment name')).toHaveValue('iris');
  // a fresh name, so versions start at 1 even against a build service that is reused
  const name = `iris-ui-${Date.now() % 1000000}`;
  await panel.getByLabel('Deployment name').fill(name);

  await test.step('Deploy: the timeline goes to Live with the stable URL', async () => {
    await deployAndWaitLive(page, panel, 1);
    await expect(panel.locator('.jp-Deploy-badge.jp-mod-live')).toHaveText(
      'Live'
    );
    await expect(panel.locator('.jp-Deploy-url')).toHaveText(
      /^http:\/\/127\.0\.0\.1:\d+/
    );
    await expect(panel.locator('.jp-Deploy-timeline')).toHaveAttribute(
      'data-phase',
      'live'
    );
    await expect(panel.locator('.jp-Deploy-step.jp-mod-done')).toHaveCount(5);
    await shoot(panel, 'panel-live', testInfo);
  });

  await test.step('Console: the example gets a prediction', async () => {
    // the form of predict(features: list[float]), filled with the example cell's input
    const form = panel.locator('.jp-Deploy-form');
    await expect(form.getByLabel('features.0', { exact: true })).toHaveValue(
      '5.1'
    );
    await expect(form.locator('.jp-Deploy-propType')).toHaveText(
      'list[number]'
    );
    await panel.getByRole('button', { name: 'Send', exact: true }).click();
    const response = panel.locator('.jp-Deploy-response');
    await expect(response).toHaveAttribute('data-status', '200');
    await expect(response).toContainText('"prediction"');
    await panel
      .getByRole('button', { name: 'curl and Python snippets' })
      .click();
    await expect(page.locator('#jupyter-deploy-snippets')).toContainText(
      'curl -X POST'
    );
    await expect(panel.locator('.jp-Deploy-openapi')).toHaveAttribute(
      'href',
      /openapi\.json$/
    );
    await shoot(
      panel.locator('.jp-Deploy-testSection'),
      'panel-console',
      testInfo
    );
  });

  await test.step('Redeploy: version 2 goes live, version 1 is retired', async () => {
    await deployAndWaitLive(page, panel, 2);
    await expect(
      panel.locator('.jp-Deploy-history tr[data-version="1"]')
    ).toContainText('retired');
    await shoot(
      panel.locator('.jp-Deploy-history'),
      'panel-redeployed',
      testInfo
    );
  });

  await test.step('Roll back: version 1 is live again', async () => {
    await panel
      .locator('.jp-Deploy-history tr[data-version="1"]')
      .getByRole('button', { name: 'Roll back' })
      .click();
    await expect(panel.locator('.jp-Deploy-live')).toContainText('v1', {
      timeout: BUILD_TIMEOUT
    });
    await dismissNotifications(page);
    await expect(
      panel.locator('.jp-Deploy-history tr[data-version="1"]')
    ).toContainText('live');
    await shoot(
      panel.locator('.jp-Deploy-history'),
      'panel-rolled-back',
      testInfo
    );
  });

  await test.step('Delete, after a confirmation dialog', async () => {
    await panel.getByRole('button', { name: 'Delete deployment' }).click();
    const dialog = page.locator('.jp-Dialog');
    await expect(dialog).toContainText(`Delete "${name}"?`);
    await dialog.getByRole('button', { name: 'Delete' }).click();
    await expect(panel.locator('.jp-Deploy-live')).toHaveCount(0);
    await expect(panel.locator('.jp-Deploy-history')).toHaveCount(0);
  });
});
