/**
 * A list page's state: the items the admin API answers as `{items}`, loaded on mount,
 * and the page's error and confirmation notes. `changed` shows what an action did and
 * reloads the list.
 */
import { useCallback, useEffect, useState } from 'preact/hooks';
import { api, messageOf } from './api.js';

export function useAdminList<T>(path: string) {
  const [items, setItems] = useState<T[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [message, setMessage] = useState<string | null>(null);

  const load = useCallback(async () => {
    try {
      setItems((await api.get<{ items: T[] }>(path)).items);
    } catch (e) {
      setError(messageOf(e));
    }
  }, [path]);
  useEffect(() => {
    load();
  }, [load]);

  const changed = (text: string) => {
    setError(null);
    setMessage(text);
    load();
  };
  return { items, error, setError, message, setMessage, changed, reload: load };
}
