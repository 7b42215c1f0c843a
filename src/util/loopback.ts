// Is an address reachable from this host only? 127.0.0.0/8, ::1 and localhost (a bracketed
// IPv6 literal too). The audit probes only such hosts (and declared ones); a relay listener
// on one may run without a client policy.
import { isIP } from 'node:net';

export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1') return true;
  return isIP(h) === 4 && h.startsWith('127.');
}
