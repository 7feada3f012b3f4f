import { expect, test } from '@jupyterlab/galata';

import { brokenNotebook, openExample, openPanel, shoot } from './helpers';

test.use({ autoGoto: true, viewport: { width: 1400, height: 1000 } });

test.describe('Deploy panel: preview', () => {
  test('shows the Deploy tab, toolbar button and palette commands', async ({
    page
  }) => {
    // Given JupyterLab with the extension
    // When the palette lists the Deploy commands
    const commands = await page.evaluate(() =>
      window.jupyterapp.commands
        .listCommands()
        .filter(id => id.startsWith('jupyter-deploy:'))
    );
    // Then all the commands exist and the panel opens with its title
    expect(commands.sort()).toEqual([
      'jupyter-deploy:deploy',
      'jupyter-deploy:diff-live',
      'jupyter-deploy:open-deployments',
      'jupyter-deploy:open-module',
      'jupyter-deploy:open-panel',
      'jupyter-deploy:open-snippets',
      'jupyter-deploy:toggle-predict-tag'
    ]);
    await openPanel(page);
    await expect(page.getByRole('tab', { name: 'Deploy' })).toBeVisible();
  });

  test('opens the generated module of an undeployed notebook, highlighted', async ({
    page,
    tmpPath
  }, testInfo) => {
    // Given the iris example open
    await openExample(page, tmpPath, 'iris.ipynb');
    await expect(
      page.locator('.jp-NotebookPanel-toolbar .jp-Deploy-toolbarButton')
    ).toBeVisible();
    const panel = await openPanel(page);
    await expect(panel.getByLabel('Deployment name')).toHaveValue('iris');
    // When the person clicks Open module
    await panel.getByRole('button', { name: 'Open module' }).click();
    // Then the generated module opens in a main-area tab, highlighted by JupyterLab's editor
    const tab = page.locator('#jupyter-deploy-module-iris');
    await expect(tab.locator('.cm-content')).toContainText('def predict');
    await expect(tab.locator('.jp-Deploy-sourceNote')).toContainText(
      'what Deploy would ship'
    );
    await expect(tab.locator('.cm-line span').first()).toBeVisible();
    await shoot(tab, 'module-preview', testInfo);
  });

  test('shows the message of a notebook that cannot be deployed', async ({
    page,
    tmpPath
  }, testInfo) => {
    // Given a notebook without a cell tagged predict, made through the contents API
    await page.contents.uploadContent(
      brokenNotebook(),
      'text',
      `${tmpPath}/broken.ipynb`
    );
    await page.notebook.openByPath(`${tmpPath}/broken.ipynb`);
    await page.notebook.activate('broken.ipynb');
    const panel = await openPanel(page);
    // When the person previews it
    await panel.getByRole('button', { name: 'Preview', exact: true }).click();
    // Then the server's message is shown plainly, naming the predict tag
    const error = panel.locator('.jp-Deploy-error');
    await expect(error).toBeVisible();
    await expect(error).toContainText(/predict/i);
    await shoot(panel, 'panel-preview-error', testInfo);
  });

  test('tags the active cell predict from the command', async ({
    page,
    tmpPath
  }) => {
    // Given a notebook with an untagged first cell
    await page.contents.uploadContent(
      brokenNotebook(),
      'text',
      `${tmpPath}/tagme.ipynb`
    );
    await page.notebook.openByPath(`${tmpPath}/tagme.ipynb`);
    await page.notebook.activate('tagme.ipynb');
    await page.notebook.selectCells(0);
    // When the toggle command runs
    await page.evaluate(() =>
      window.jupyterapp.commands.execute('jupyter-deploy:toggle-predict-tag')
    );
    // Then the cell carries the predict tag
    const tags = await page.evaluate(() => {
      const nb = (window as any).jupyterapp.shell.currentWidget;
      return nb.content.activeCell.model.getMetadata('tags');
    });
    expect(tags).toEqual(['predict']);
  });
});
