package main

import (
	"bytes"
	"errors"
	"flag"
)

// parseFlags parses args into fs the same way for every command: -h or
// --help prints the command's usage on stdout and the command exits 0; a bad
// flag prints the error and the usage on stderr and the command exits 2. ok
// is false when the command should return code now. Afterwards fs writes to
// stderr, so a later fs.Usage() (missing required flag) goes there.
func parseFlags(e *env, fs *flag.FlagSet, args []string) (code int, ok bool) {
	var buf bytes.Buffer
	fs.SetOutput(&buf)
	err := fs.Parse(args)
	fs.SetOutput(e.stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		e.stdout.Write(buf.Bytes())
		return exitOK, false
	case err != nil:
		e.stderr.Write(buf.Bytes())
		return exitUsage, false
	}
	return exitOK, true
}

// isHelp tells whether args asks for help before anything else.
func isHelp(args []string) bool {
	return len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help" || args[0] == "help")
}
