#!/usr/bin/env node
/** The `rxlb` command. See `rxlb --help`, and docs/cli.md. */
import { parseCommand, USAGE, UsageError } from './args.js';
import { runWatch } from './watch.js';

async function main(argv: readonly string[]): Promise<number> {
  try {
    const command = parseCommand(argv);
    if (command.kind === 'help') {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    return await runWatch(command, { stdout: process.stdout, stderr: process.stderr, process });
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`rxlb: ${error.message}\n\n${USAGE}\n`);
    return 2;
  }
}

process.exitCode = await main(process.argv.slice(2));
