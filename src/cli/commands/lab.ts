// Placeholder until the lab lands: `crossforest lab up|down|status|reset`.
import type { Command } from '@commander-js/extra-typings';

export function registerLab(program: Command<[], Record<string, unknown>>): void {
  program.command('lab').description('start and stop the two-organization lab (not built yet)');
}
