import { LabIcon } from '@jupyterlab/ui-components';

const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <path class="jp-icon3" fill="#616161" d="M12 2.5c3.2 1.9 5 5.3 5 9.2l2.3 2.7-2.6 3.1h-2.9l-.8 1.5h-2l-.8-1.5H7.3l-2.6-3.1L7 11.7c0-3.9 1.8-7.3 5-9.2zm0 5.2a2 2 0 1 0 0 4 2 2 0 0 0 0-4zM9.5 20h5L12 22.5z"/>
</svg>`;

/** The Deploy panel's icon (a rocket). */
export const deployIcon = new LabIcon({
  name: 'jupyter-deploy:rocket',
  svgstr: svg
});
