// Random passwords that satisfy Active Directory's complexity rule (characters from at
// least three classes): every class is forced in, at random places. node:crypto's randomInt
// is the randomness; nothing else is needed.
import { randomInt } from 'node:crypto';

export const PASSWORD_CLASSES = {
  upper: 'ABCDEFGHJKLMNPQRSTUVWXYZ',
  lower: 'abcdefghijkmnopqrstuvwxyz',
  digit: '23456789',
  symbol: '!#%+-=?@_~',
} as const;

export function strongPassword(length: number, classes: readonly string[] = Object.values(PASSWORD_CLASSES)): string {
  const every = classes.join('');
  const chars = classes.map((c) => c[randomInt(c.length)] as string);
  while (chars.length < length) chars.push(every[randomInt(every.length)] as string);
  // Fisher–Yates, so the forced characters are not always first.
  for (let i = chars.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [chars[i], chars[j]] = [chars[j] as string, chars[i] as string];
  }
  return chars.join('');
}
