import { expect, test } from '@jupyterlab/galata';

import { deployByApi, openPanel, shoot, thresholdNotebook } from './helpers';

test.use({
  autoGoto: true,
  viewport: { width: 1400, height: 1000 },
  // ready once the splash is gone (Galata's default waits for a Launcher tab, which a reload
  // into a restored layout does not show)
  waitForApplication: async ({}, use) => {
    await use(async page => {
      await page.locator('#jupyterlab-splash').waitFor({ state: 'detached' });
    });
  }
});

test('the panel folds into remembered sections, opens snippets in a tab, fits 300 px and follows the theme', async ({
  page,
  tmpPath
}, testInfo) => {
  // Given a live model and its notebook open
  const path = `${tmpPath}/layout.ipynb`;
  const name = `layout-${Date.now() % 1000000}`;
  await page.contents.uploadContent(thresholdNotebook(0.5), 'text', path);
  await deployByApi(page, path, name);
  await page.notebook.openByPath(path);
  await page.notebook.activate('layout.ipynb');
  let panel = await openPanel(page);
  const header = (id: string) =>
    panel.locator(`[data-section="${id}"] > .jp-Deploy-sectionHeader`);

  await test.step('A folded section stays folded after a reload', async () => {
    await expect(header('code')).toHaveAttribute('aria-expanded', 'true');
    await header('code').click();
    await expect(header('code')).toHaveAttribute('aria-expanded', 'false');
    await expect(
      panel.getByRole('button', { name: 'Open module' })
    ).toHaveCount(0);
    // JupyterLab writes the state DB into the workspace after a short debounce
    await page.waitForTimeout(2000);
    await page.reload();
    await page.evaluate(async notebook => {
      await window.jupyterapp.restored;
      await window.jupyterapp.commands.execute('docmanager:open', {
        path: notebook
      });
    }, path);
    panel = await openPanel(page);
    await expect(header('code')).toHaveAttribute('aria-expanded', 'false');
    await header('code').click();
    await expect(
      panel.getByRole('button', { name: 'Open module' })
    ).toBeVisible();
  });

  await panel.getByLabel('Deployment name').fill(name);
  await panel.getByLabel('Deployment name').press('Tab');
  await expect(header('status')).toContainText('live v1');

  await test.step('Snippets open in a wide tab, with copy buttons, never wrapped', async () => {
    await panel
      .getByRole('button', { name: 'curl and Python snippets' })
      .click();
    const tab = page.locator('#jupyter-deploy-snippets');
    await expect(tab).toContainText(`curl -X POST`);
    await expect(tab).toContainText('from jupyter_deploy import connect');
    // curl, requests and jupyter_deploy.connect
    await expect(tab.getByRole('button', { name: /^Copy/ })).toHaveCount(3);
    const wrap = await tab
      .locator('pre')
      .first()
      .evaluate(node => getComputedStyle(node).whiteSpace);
    expect(wrap).toBe('pre');
    await shoot(tab, 'snippets-tab', testInfo);
  });

  await test.step('At 300 px nothing spills sideways', async () => {
    await page.sidebar.setWidth(300, 'right');
    const sizes = await panel.evaluate(node => [
      node.scrollWidth,
      node.clientWidth
    ]);
    expect(sizes[0]).toBeLessThanOrEqual(sizes[1] + 1);
    await shoot(panel, 'panel-300px', testInfo);
  });

  await test.step('Dark theme: the panel and the review tabs follow it', async () => {
    await page.theme.setDarkTheme();
    // the theme change can re-render the shell: open the panel again and wait for it
    await openPanel(page);
    await page.sidebar.setWidth(420, 'right');
    await shoot(panel, 'panel-dark', testInfo);
    await panel.getByRole('button', { name: 'Open module' }).click();
    const tab = page.locator(`#jupyter-deploy-module-${name}`);
    await expect(tab.locator('.cm-content')).toContainText('THRESHOLD = 0.5');
    const background = await tab
      .locator('.cm-editor')
      .evaluate(node => getComputedStyle(node).backgroundColor);
    expect(background).not.toBe('rgb(255, 255, 255)');
    await shoot(tab, 'module-dark', testInfo);
  });
});
