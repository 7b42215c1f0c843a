// `crossforest init`: writes a commented example project file that matches the lab.
import { existsSync, writeFileSync } from 'node:fs';
import { type Command, Option } from '@commander-js/extra-typings';
import { exampleProjectFile } from '../../config/example.ts';
import { ConfigError } from '../../util/errors.ts';
import { globals } from '../context.ts';
import { progress } from '../output.ts';

export function registerInit(program: Command<[], Record<string, unknown>>): void {
  program
    .command('init')
    .description('write a commented example project file (it matches the lab)')
    .option('--print', 'print it instead of writing it')
    .option('--force', 'overwrite an existing project file')
    .addOption(
      new Option('--directory <kind>', 'which lab directories the example points at')
        .choices(['openldap', 'samba'] as const)
        .default('openldap' as const),
    )
    .addOption(
      new Option('--state <engine>', "where the state store lives: a SQLite file beside it, or the lab's PostgreSQL")
        .choices(['sqlite', 'postgres'] as const)
        .default('sqlite' as const),
    )
    .action((opts, cmd) => {
      const text = exampleProjectFile(opts.directory, opts.state);
      if (opts.print) {
        process.stdout.write(text);
        return;
      }
      const file = globals(cmd).config;
      if (existsSync(file) && !opts.force) {
        throw new ConfigError(`${file} already exists`, {
          object: file,
          hint: 'pass --force to overwrite it, or --print to see the example',
        });
      }
      writeFileSync(file, text);
      progress(
        `wrote ${file}; next: crossforest lab up && crossforest check${opts.state === 'postgres' ? " (the state store is the lab's PostgreSQL database crossforest)" : ''}`,
      );
    });
}
