package main

import (
	"bytes"
	"errors"
	"flag"
)

// parseFlags parses args into fs the same way for every command: -h or
// --help prints the command's usage on stdout and gives errHelp (exit 0); a
// bad flag prints the error and the usage on stderr and gives a usageError
// (exit 2). A command returns any error it gives at once. Afterwards fs
// writes to stderr, so a later fs.Usage() (missing required flag) goes there.
func parseFlags(e *env, fs *flag.FlagSet, args []string) error {
	var buf bytes.Buffer
	fs.SetOutput(&buf)
	err := fs.Parse(args)
	fs.SetOutput(e.stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		e.stdout.Write(buf.Bytes())
		return errHelp
	case err != nil:
		e.stderr.Write(buf.Bytes())
		return &usageError{}
	}
	return nil
}

// isHelp tells whether args asks for help before anything else.
func isHelp(args []string) bool {
	return len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help" || args[0] == "help")
}
