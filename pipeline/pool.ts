/**
 * Runs `each` over `items`, at most `width` at a time, in order of start. After a failure no
 * item more is started, and the first failure is thrown once those running have ended: nothing
 * is written after it is known.
 */
export async function eachAtMost<T>(
  width: number,
  items: readonly T[],
  each: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failed: { error: unknown } | undefined;
  const worker = async () => {
    for (let i = next++; i < items.length && !failed; i = next++) {
      try {
        await each(items[i]!);
      } catch (error) {
        failed ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
  if (failed) throw failed.error;
}
