// "Are automatic replies to external domains blocked?": read from the relay policy in
// the project file (the `*` entry, as the seed's Default domain), and whether a relay
// listener exists in each direction to apply it.
import type { LoadedProject } from '../config/load.ts';
import { policyFor } from '../transport/policy.ts';
import { projectPolicyTable } from '../transport/relay.ts';
import { type Finding, findingsOf } from './types.ts';

/** A domain no organization or partner entry can match: what `*` says. */
const OUTSIDE = 'internet.invalid';

export function checkRelayPolicy(project: LoadedProject): Finding[] {
  const transport = project.config.transport;
  const f = findingsOf(undefined, 'relay policy');
  const outbound = transport?.listeners.filter((l) => l.direction === 'outbound') ?? [];
  const inbound = transport?.listeners.filter((l) => l.direction === 'inbound') ?? [];
  const star = policyFor(projectPolicyTable(project), OUTSIDE);
  const open = (['outOfOffice', 'autoReply', 'autoForward'] as const).filter((k) => star.actions[k] !== 'block');
  const findings: Finding[] = [];
  if (outbound.length === 0) {
    findings.push(
      f(
        'auto-replies-blocked',
        'fail',
        'no outbound relay listener: out-of-office replies, auto-replies and auto-forwards reach the Internet',
        'add a transport.listeners entry with direction: outbound and make it the smart host (relayhost) of the outgoing MTA',
      ),
    );
  } else if (open.length > 0) {
    findings.push(
      f(
        'auto-replies-blocked',
        'fail',
        `the * policy allows ${open.join(', ')} to the Internet`,
        `set ${open.map((k) => `${k}: block`).join(', ')} in transport.policy['*'] (allow them per partner domain instead)`,
      ),
    );
  } else {
    findings.push(
      f(
        'auto-replies-blocked',
        'pass',
        `OOF, auto-replies and auto-forwards to the Internet are blocked (${outbound.map((l) => l.name).join(', ')})`,
      ),
    );
  }
  if (inbound.length === 0 || !star.stripReadReceiptRequests) {
    findings.push(
      f(
        'read-receipts-stripped',
        'warn',
        inbound.length === 0
          ? 'no inbound relay listener: read-receipt requests reach the users'
          : 'the * policy keeps read-receipt requests',
        "add an inbound listener in front of the MX and keep stripReadReceiptRequests: true in transport.policy['*']",
      ),
    );
  } else {
    findings.push(
      f(
        'read-receipts-stripped',
        'pass',
        `read-receipt requests from the Internet are stripped (${inbound.map((l) => l.name).join(', ')})`,
      ),
    );
  }
  return findings;
}
