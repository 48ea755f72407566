/**
 * Runs `use` on a store from `open` and closes the store however `use` ends, so that a
 * failing case never leaves a file or a connection pool open behind it.
 */
export async function withOpened<Store extends { close(): Promise<void> }>(
  open: () => Promise<Store>,
  use: (store: Store) => Promise<void>,
): Promise<void> {
  const store = await open();
  try {
    await use(store);
  } finally {
    await store.close();
  }
}
