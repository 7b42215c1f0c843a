// The comparison calendar verify uses (src/calendar/canonical.ts): the same object whatever
// the folding, line ends and parameter order; a different value is a different object.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { canonical, uidOf } from '../../src/calendar/canonical.ts';

const EVENT = [
  'BEGIN:VCALENDAR',
  'VERSION:2.0',
  'PRODID:-//crossforest//test//EN',
  'BEGIN:VEVENT',
  'UID:meeting-1@forest-a.test',
  'DTSTAMP:20261201T080000Z',
  'DTSTART;TZID=Europe/Berlin:20261210T090000',
  'DTEND;TZID=Europe/Berlin:20261210T100000',
  'SUMMARY:Réunion de l’équipe',
  'ATTENDEE;CN=José Müller;ROLE=REQ-PARTICIPANT:mailto:jose.muller@forest-a.test',
  'END:VEVENT',
  'END:VCALENDAR',
  '',
].join('\r\n');

describe('canonical comparison of iCalendar and vCard', () => {
  it('ignores folding, line ends and parameter order', () => {
    const refolded = EVENT.replace(
      'ATTENDEE;CN=José Müller;ROLE=REQ-PARTICIPANT:mailto:',
      'ATTENDEE;ROLE=REQ-PARTICIPANT;CN=José Müller:mail\r\n to:',
    ).replace(/\r\n/g, '\n');
    assert.equal(canonical(refolded), canonical(EVENT));
  });

  it('sees a changed value, a dropped property and a reordered property', () => {
    assert.notEqual(canonical(EVENT.replace('T100000', 'T110000')), canonical(EVENT));
    assert.notEqual(canonical(EVENT.replace(/ATTENDEE[^\r]*\r\n/, '')), canonical(EVENT));
    const swapped = EVENT.replace('SUMMARY:Réunion de l’équipe\r\nATTENDEE', 'ATTENDEE').replace(
      'mailto:jose.muller@forest-a.test\r\n',
      'mailto:jose.muller@forest-a.test\r\nSUMMARY:Réunion de l’équipe\r\n',
    );
    assert.notEqual(canonical(swapped), canonical(EVENT));
  });

  it('reads vCards 3.0 and 4.0, and the UID of a folded line', () => {
    const card =
      'BEGIN:VCARD\r\nVERSION:4.0\r\nUID:urn:uuid:0a1b2c3d-aaaa-bbbb-cccc-\r\n 0123456789ab\r\nFN:Zoë Ångström\r\nEMAIL;TYPE=work:zoe@forest-b.test\r\nEND:VCARD\r\n';
    assert.ok(canonical(card));
    assert.equal(uidOf(card), 'urn:uuid:0a1b2c3d-aaaa-bbbb-cccc-0123456789ab');
    assert.equal(uidOf(EVENT), 'meeting-1@forest-a.test');
    assert.equal(canonical('not a calendar'), undefined);
  });
});
