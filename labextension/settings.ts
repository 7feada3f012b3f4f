/** The extension's settings (schema/plugin.json) as a plain object, kept up to date. */
import { ISettingRegistry } from '@jupyterlab/settingregistry';

export interface IPreferences {
  panelSide: 'left' | 'right';
  pollInterval: number;
  autoOpenPanel: boolean;
  notify: boolean;
}

export const DEFAULTS: IPreferences = {
  panelSide: 'right',
  pollInterval: 1000,
  autoOpenPanel: true,
  notify: true
};

/** The preferences in a settings object. */
export function readPreferences(
  settings: ISettingRegistry.ISettings
): IPreferences {
  const side = settings.get('panelSide').composite;
  return {
    panelSide: side === 'left' ? 'left' : 'right',
    pollInterval: settings.get('pollInterval').composite as number,
    autoOpenPanel: settings.get('autoOpenPanel').composite as boolean,
    notify: settings.get('notify').composite as boolean
  };
}

/**
 * Load the plugin's settings once `ready` resolves, copy them into `prefs` and call
 * `onChange(previous)` now and on every later change.
 */
export function watchSettings(
  registry: ISettingRegistry,
  pluginId: string,
  ready: Promise<unknown>,
  prefs: IPreferences,
  onChange: (previous: IPreferences) => void
): void {
  const apply = (settings: ISettingRegistry.ISettings) => {
    const previous = { ...prefs };
    Object.assign(prefs, readPreferences(settings));
    onChange(previous);
  };
  void Promise.all([registry.load(pluginId), ready])
    .then(([settings]) => {
      apply(settings);
      settings.changed.connect(apply);
    })
    .catch(reason =>
      console.error('jupyter-deploy: settings not loaded', reason)
    );
}
