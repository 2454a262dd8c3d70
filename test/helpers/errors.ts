/** The message `fn` throws, or "(no error)" when it returns: for asserting exact error texts. */
export function messageOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return (err as Error).message;
  }
  return '(no error)';
}
