#!/usr/bin/env node
import { runCommand } from './cli/commands.js';
import { processIo } from './cli/io.js';

// argv → subcommand; no logic lives here.
runCommand(process.argv.slice(2), processIo()).then(
  (code) => {
    // `serve` keeps the process alive through its server; every other command ends here.
    if (code !== undefined) process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(
      `hookrelay: unexpected failure: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    process.exitCode = 70;
  },
);
