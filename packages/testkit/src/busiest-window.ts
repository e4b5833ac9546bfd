/**
 * The most events in any window of `windowMs` (a sliding window, not fixed seconds): how a rate
 * limit's promise "at most R in any second" is checked against the times the events were seen.
 */
export function busiestWindow(times: readonly number[], windowMs = 1_000): number {
  const sorted = [...times].sort((a, b) => a - b);
  let busiest = 0;
  for (let i = 0, j = 0; i < sorted.length; i++) {
    while ((sorted[j] as number) <= (sorted[i] as number) - windowMs) j++;
    busiest = Math.max(busiest, i - j + 1);
  }
  return busiest;
}
