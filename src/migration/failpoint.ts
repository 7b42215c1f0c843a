// Fault injection for the crash tests: when CROSSFOREST_FAILPOINT names a point, the
// process kills itself with SIGKILL there (after a step's effect, before its bookkeeping:
// the worst moment). Points: prestage:user, prestage:enabled, copy:copy, copy:delta, cutover:target,
// cutover:source, cleanup:removed, verify:checked, report:written.
export function failpoint(name: string): void {
  if (process.env.CROSSFOREST_FAILPOINT === name) process.kill(process.pid, 'SIGKILL');
}
