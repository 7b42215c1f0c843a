// Word material for generated mail: business English with some German, French,
// Polish and Japanese so bodies and headers carry real 8-bit UTF-8.
import type { Prng } from '../../org/prng.ts';

const WORDS = (
  'the budget review meeting project deadline quarter forecast customer contract invoice ' +
  'shipment proposal agenda minutes draft final approval team schedule update status ' +
  'report migration mailbox directory server cutover weekend window please confirm ' +
  'attached below thanks regards follow up next steps decision risk issue resolved ' +
  'pending travel expenses office Atlanta Berlin Kraków São Paulo merger integration ' +
  'Besprechung Rechnung Grüße Übersicht réunion échéance données spotkanie faktura ' +
  '会議 資料 予定 確認'
).split(/\s+/);

const SUBJECTS = [
  'Q3 budget review',
  'Re: contract renewal',
  'Meeting notes',
  'Invoice {n}',
  'Travel plans for {city}',
  'Fwd: customer escalation',
  'Weekly status',
  'Draft proposal v{n}',
  'Lunch?',
  'Server cutover window',
  'Besprechung am Montag – Übersicht',
  'Réunion: ordre du jour',
  'Faktura nr {n}/2019',
  '会議の資料について',
  'Re: Re: Re: mailbox migration',
  'Your expense report',
  'Org chart update',
  'Holiday schedule',
];

const CITIES = ['Atlanta', 'Berlin', 'São Paulo', 'Kraków', 'Zürich', 'Tokyo', 'Montréal'];

export function subject(rnd: Prng): string {
  return rnd
    .pick(SUBJECTS)
    .replace('{n}', String(1000 + rnd.int(9000)))
    .replace('{city}', rnd.pick(CITIES));
}

/** About `bytes` bytes of text in lines of at most ~76 characters. */
export function paragraphText(rnd: Prng, bytes: number): string {
  const lines: string[] = [];
  let line = '';
  let total = 0;
  while (total < bytes) {
    const w = rnd.pick(WORDS);
    if (line.length + w.length + 1 > 72) {
      lines.push(line);
      total += Buffer.byteLength(line) + 1;
      line = '';
      if (rnd.chance(0.15)) {
        lines.push('');
        total += 1;
      }
    }
    line = line ? `${line} ${w}` : w;
  }
  if (line) lines.push(line);
  return lines.join('\n');
}
