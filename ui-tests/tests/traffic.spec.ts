import { expect, test } from '@jupyterlab/galata';

import { dismissNotifications, openPanel, shoot } from './helpers';

test.use({ autoGoto: true, viewport: { width: 1400, height: 1100 } });

/** A notebook whose predict says yes at or above THRESHOLD (cell 1). */
function thresholdNotebook(): string {
  const cell = (id: string, source: string, tags: string[] = []) => ({
    cell_type: 'code',
    execution_count: null,
    id,
    metadata: tags.length ? { tags } : {},
    outputs: [],
    source: [source]
  });
  return JSON.stringify({
    cells: [
      cell('c1', 'THRESHOLD = 0.5'),
      cell(
        'c2',
        'def predict(score: float) -> str:\n    return "yes" if score >= THRESHOLD else "no"',
        ['predict']
      ),
      cell('c3', 'example = {"score": 0.7}', ['example'])
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

const SCORES = [0.1, 0.3, 0.45, 0.48, 0.55, 0.9];

test('traffic charts and requests update live; compare finds a changed threshold', async ({
  page,
  tmpPath
}, testInfo) => {
  // Given the threshold notebook run in its kernel and deployed
  await page.contents.uploadContent(
    thresholdNotebook(),
    'text',
    `${tmpPath}/threshold.ipynb`
  );
  await page.notebook.openByPath(`${tmpPath}/threshold.ipynb`);
  await page.notebook.activate('threshold.ipynb');
  await page.notebook.run();
  const panel = await openPanel(page);
  const name = `watch-ui-${Date.now() % 1000000}`;
  await panel.getByLabel('Deployment name').fill(name);
  await panel.getByRole('button', { name: 'Deploy', exact: true }).click();
  await expect(panel.locator('.jp-Deploy-live')).toContainText('v1', {
    timeout: 90000
  });
  await dismissNotifications(page);
  const url = (await panel.locator('.jp-Deploy-url').textContent()) as string;

  await test.step('Traffic: sent requests show in the charts and the table', async () => {
    for (const score of SCORES) {
      const answer = await page.request.post(`${url}/predict`, {
        data: { score }
      });
      expect(answer.ok()).toBe(true);
    }
    await page.request.post(`${url}/predict`, { data: { score: 'high' } });
    const traffic = panel.locator('.jp-Deploy-traffic');
    // the section refreshes by itself (every 5 s): no click needed
    await expect(traffic.locator('.jp-Deploy-totals')).toContainText(
      /^(10|11) requests/, // 8 sent, the smoke test and the golden replay (2)
      { timeout: 30000 }
    );
    await expect(traffic.locator('.jp-Deploy-chart canvas')).toHaveCount(3);
    await expect(
      traffic.locator('.jp-Deploy-chart [data-points="30"]')
    ).toHaveCount(3);
    const rows = traffic.locator('.jp-Deploy-requests tbody tr');
    await expect(rows.first()).toContainText('422');
    await expect(rows.nth(1)).toContainText('{"score":0.9}');
    await shoot(traffic, 'panel-traffic', testInfo);
  });

  await test.step('A click puts the request input into the test console', async () => {
    await panel
      .locator('.jp-Deploy-requests tbody tr', { hasText: '0.45' })
      .click();
    const form = panel.locator('.jp-Deploy-form');
    await expect(form.getByLabel('score', { exact: true })).toHaveValue('0.45');
  });

  await test.step('Compare with the unchanged notebook: everything agrees', async () => {
    await panel.getByRole('button', { name: 'Compare with notebook' }).click();
    await expect(panel.locator('.jp-Deploy-compareResult')).toContainText(
      '(100.0%)',
      { timeout: 60000 }
    );
  });

  await test.step('Change the threshold cell: compare names the inputs that differ', async () => {
    await page.notebook.setCell(0, 'code', 'THRESHOLD = 0.4');
    await page.notebook.runCell(0);
    await panel.getByRole('button', { name: 'Compare with notebook' }).click();
    const result = panel.locator('.jp-Deploy-compareResult');
    await expect(result).toContainText('2 differ', { timeout: 60000 });
    const differ = panel.locator('.jp-Deploy-differ tbody tr');
    await expect(differ).toHaveCount(2);
    await expect(differ.first()).toContainText('no');
    await expect(differ.first()).toContainText('yes');
    await shoot(panel.locator('.jp-Deploy-compare'), 'panel-compare', testInfo);
  });
});
