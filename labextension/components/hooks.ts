import { useEffect, useState } from 'react';

import { ISignal } from '@lumino/signaling';

/** Re-render whenever the model changes. */
export function useModel<T extends { changed: ISignal<any, void> }>(
  model: T
): T {
  const [, setCount] = useState(0);
  useEffect(() => {
    const onChange = () => setCount(count => count + 1);
    model.changed.connect(onChange);
    return () => {
      model.changed.disconnect(onChange);
    };
  }, [model]);
  return model;
}

/** The current time, refreshed every second while `active`. */
export function useNow(active: boolean): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    if (!active) {
      return;
    }
    const timer = window.setInterval(() => setNow(Date.now()), 1000);
    return () => window.clearInterval(timer);
  }, [active]);
  return active ? now : Date.now();
}
