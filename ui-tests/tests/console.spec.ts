import { expect, test } from '@jupyterlab/galata';

import { deployByApi, notebookOf, openPanel, shoot } from './helpers';

test.use({ autoGoto: true, viewport: { width: 1400, height: 1000 } });

/** predict with an optional argument and a nested one (no captured values: no kernel). */
const NESTED = notebookOf([
  { source: 'from typing import Optional' },
  {
    source: [
      'def predict(x: float, weights: dict[str, list[float]], scale: Optional[float] = None) -> float:',
      '    if x < 0:',
      '        raise ValueError("x must not be negative")',
      '    return x * (scale or 1.0) + sum(sum(v) for v in weights.values())'
    ].join('\n'),
    tags: ['predict']
  },
  {
    source: 'example = {"x": 2.0, "weights": {"a": [1.0, 2.0]}}',
    tags: ['example']
  }
]);

test('the console is a form of the input schema: optional and nested arguments, inline errors, history', async ({
  page,
  tmpPath
}, testInfo) => {
  // Given a live model with an optional and a nested argument, its notebook open
  const path = `${tmpPath}/nested.ipynb`;
  const name = `nested-${Date.now() % 1000000}`;
  await page.contents.uploadContent(NESTED, 'text', path);
  await deployByApi(page, path, name);
  await page.notebook.openByPath(path);
  await page.notebook.activate('nested.ipynb');
  const panel = await openPanel(page);
  await panel.getByLabel('Deployment name').fill(name);
  await panel.getByLabel('Deployment name').press('Tab');
  const form = panel.locator('.jp-Deploy-form');
  const send = panel.getByRole('button', { name: 'Send', exact: true });
  const response = panel.locator('.jp-Deploy-response');

  await test.step('The form holds the example; the optional argument is left out', async () => {
    await expect(form.getByLabel('x', { exact: true })).toHaveValue('2');
    await expect(form.getByLabel('weights.a.0', { exact: true })).toHaveValue(
      '1'
    );
    await expect(form.getByLabel('weights.a.1', { exact: true })).toHaveValue(
      '2'
    );
    await expect(form.getByLabel('Send scale')).not.toBeChecked();
    await expect(form.locator('[data-path="scale"]')).toContainText(
      'number | null · optional'
    );
  });

  await test.step('A wrong value is named inline and nothing is sent', async () => {
    await form.getByLabel('Send scale').check();
    await form.getByLabel('scale is null').uncheck();
    await form.getByLabel('scale', { exact: true }).fill('abc');
    await expect(form.locator('.jp-Deploy-fieldError')).toHaveText(
      'scale "abc" is not a number'
    );
    await expect(send).toBeDisabled();
  });

  await test.step('Fixed, sent: the answer with status and latency', async () => {
    await form.getByLabel('scale', { exact: true }).fill('3');
    await send.click();
    await expect(response).toHaveAttribute('data-status', '200');
    await expect(response).toContainText('"prediction": 9');
    await expect(response).toContainText(' ms');
    await form.getByLabel('Add an item to weights.a').click();
    await form.getByLabel('weights.a.2', { exact: true }).fill('4');
    await send.click();
    await expect(response).toContainText('"prediction": 13');
    await shoot(
      panel.locator('.jp-Deploy-testSection'),
      'console-form',
      testInfo
    );
  });

  await test.step('JSON view: the same body; an error answer shows its error id', async () => {
    await panel.getByRole('button', { name: 'JSON', exact: true }).click();
    const json = panel.getByLabel('Request body (JSON)');
    await expect(json).toHaveValue(/"scale": 3/);
    await json.fill('{"x": -1, "weights": {}}');
    await send.click();
    await expect(response).toHaveAttribute('data-status', '500');
    await expect(response.locator('.jp-Deploy-errorId code')).toHaveText(
      /^[0-9a-f]{12}$/
    );
  });

  await test.step('Replay from history: the first request is sent again', async () => {
    const requests = panel.locator('.jp-Deploy-requests li');
    await expect(requests).toHaveCount(3);
    await requests.last().getByRole('button', { name: 'Replay' }).click();
    await expect(response).toHaveAttribute('data-status', '200');
    await expect(response).toContainText('"prediction": 9');
    await expect(requests).toHaveCount(4);
    await expect(panel.getByLabel('Request body (JSON)')).toHaveValue(
      /"scale": 3/
    );
    await shoot(
      panel.locator('.jp-Deploy-testSection'),
      'console-history',
      testInfo
    );
  });
});
