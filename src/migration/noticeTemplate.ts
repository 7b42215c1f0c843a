// User-notice templates (the seed's expectations e-mail): `{name}` placeholders filled by
// plain text substitution, never evaluated. `{{` and `}}` are literal braces. Values are
// inserted once and never scanned again, so a displayName that reads "{batch}" stays as
// written. A subject is one header line: CR/LF in a template is refused at load time, in
// a value (a directory attribute) it is replaced by a space, so no value can add headers.

export const PLACEHOLDERS = ['displayName', 'sourceAddress', 'targetAddress', 'batch', 'workgroup', 'window'] as const;
export type Placeholder = (typeof PLACEHOLDERS)[number];
export type NoticeValues = Record<Placeholder, string>;

type Part = { text: string } | { name: Placeholder };

/** Splits a template into text and placeholders; problems name what is wrong, in order. */
export function parseTemplate(template: string): { parts: Part[]; problems: string[] } {
  const parts: Part[] = [];
  const problems: string[] = [];
  let text = '';
  for (let i = 0; i < template.length; i++) {
    const c = template[i];
    if ((c === '{' || c === '}') && template[i + 1] === c) {
      text += c;
      i++;
      continue;
    }
    if (c === '}') {
      problems.push(`a lone "}" at character ${i + 1} (write "}}" for a literal brace)`);
      continue;
    }
    if (c !== '{') {
      text += c;
      continue;
    }
    const end = template.indexOf('}', i + 1);
    const name = end < 0 ? '' : template.slice(i + 1, end);
    if (end < 0 || /[{\s]/.test(name)) {
      problems.push(`a lone "{" at character ${i + 1} (write "{{" for a literal brace)`);
      continue;
    }
    if (!(PLACEHOLDERS as readonly string[]).includes(name)) {
      problems.push(`unknown placeholder {${name}} (known: ${PLACEHOLDERS.map((p) => `{${p}}`).join(', ')})`);
    } else {
      if (text) parts.push({ text });
      text = '';
      parts.push({ name: name as Placeholder });
    }
    i = end;
  }
  if (text) parts.push({ text });
  return { parts, problems };
}

/** Problems of a subject template: those of any template, plus line breaks. */
export function subjectProblems(subject: string): string[] {
  const p = parseTemplate(subject).problems;
  if (/[\r\n]/.test(subject)) p.push('a line break (a subject is one line)');
  return p;
}

/** Fills a template that passed parseTemplate (the config checks it at load time). */
export function render(template: string, values: NoticeValues): string {
  const { parts, problems } = parseTemplate(template);
  if (problems.length) throw new Error(`notice template: ${problems.join('; ')}`);
  return parts.map((p) => ('text' in p ? p.text : values[p.name])).join('');
}

/** A subject line: rendered, with CR/LF and other control characters from values made spaces. */
export function renderSubject(template: string, values: NoticeValues): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: stripping them is the point
  const controls = /[\u0000-\u001f\u007f]+/g;
  return render(template, values).replace(controls, ' ').trim();
}

/**
 * The built-in notices: the seed's Myth 4 expectations list ("sets the expectations a
 * little lower than we can deliver"), in words for mail users rather than Outlook admins.
 */
export const DEFAULT_NOTICES = {
  before: {
    subject: 'Your mailbox moves to {targetAddress} ({window})',
    body: [
      'Hello {displayName},',
      '',
      'your mailbox {sourceAddress} moves to the new organization as {targetAddress}',
      '(migration batch {batch}, workgroup {workgroup}, window: {window}).',
      'Mail sent to your old address keeps reaching you.',
      '',
      'What to expect:',
      '- For the first week please choose recipients from the Global Address List instead of',
      '  typing their name or using reply.',
      '- Identify your local archives (PST files) before the move: your mail program may',
      '  "forget" about them even though they have not been moved or deleted.',
      '- The migration cannot move corrupt or damaged items. Our target is to move 99.9% of',
      '  the mailbox items; you get a report if an item could not be moved.',
      '- Your mail program may take a long time after the move to rebuild its offline cache.',
      '- Many customized settings may be gone.',
      '- Delegates will need to be set up again.',
      '- Customized rules will need to be set up again.',
      '- Smartphones configured for your mailbox will need to be set up again.',
      '- You may get reminders for meetings that have already passed or that you dismissed.',
      '',
      'The migration team',
    ].join('\n'),
  },
  after: {
    subject: 'Your mailbox has moved to {targetAddress}',
    body: [
      'Hello {displayName},',
      '',
      'your mailbox has moved: it is now {targetAddress} (batch {batch}).',
      'Mail sent to {sourceAddress} still reaches you here.',
      '',
      'For the first week please choose recipients from the Global Address List instead of',
      'typing their name or using reply. Delegates, rules and smartphones need to be set up',
      'again; reminders for past meetings may appear once.',
      '',
      'The migration team',
    ].join('\n'),
  },
} as const;
