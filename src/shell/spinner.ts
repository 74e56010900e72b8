/**
 * A spinner on a terminal while the shell waits for a promise, so a slow save does not look like a hang.
 * It appears only after a short delay (most promises settle before anyone would notice) and only on a
 * TTY, so piped output and logs never get control characters.
 */

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const FRAME_INTERVAL_MS = 80;
export const SPINNER_DELAY_MS = 100;

/** Returns the function that stops the spinner and erases what it drew. */
export function startSpinner(stream: NodeJS.WriteStream, label: string, delayMs = SPINNER_DELAY_MS): () => void {
  if (!stream.isTTY) return () => {};
  let frame = 0;
  let drawn = false;
  let interval: NodeJS.Timeout | undefined;
  const draw = (): void => {
    stream.write(`\r${FRAMES[frame % FRAMES.length]} ${label}`);
    frame += 1;
    drawn = true;
  };
  // Unreferenced: a promise that never settles must not be kept waiting for by the spinner alone.
  const delay = setTimeout(() => {
    draw();
    interval = setInterval(draw, FRAME_INTERVAL_MS).unref();
  }, delayMs).unref();
  return () => {
    clearTimeout(delay);
    if (interval) clearInterval(interval);
    if (drawn) stream.write('\r\x1b[K');
  };
}
