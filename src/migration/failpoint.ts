// Fault injection for the crash tests: when CROSSFOREST_FAILPOINT names a point, the
// process kills itself with SIGKILL there (after a step's effect, before its bookkeeping:
// the worst moment). Points: prestage:user, prestage:enabled, copy:copy, copy:delta,
// cutover:target (target lost targetAddress), cutover:routed (source routes to the target,
// still has its mailbox), cutover:compared (final delta and comparison done, source still
// served), cutover:source (source disconnected), cleanup:removed, verify:checked, report:written;
// rollback:source (source attributes restored), rollback:copied (first copy back done, mail
// still routed to the target), rollback:routed (routed back), rollback:target (target cleared).
export function failpoint(name: string): void {
  if (process.env.CROSSFOREST_FAILPOINT === name) process.kill(process.pid, 'SIGKILL');
}
