package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
)

// Commands return errors; report alone maps them to exit codes and prints
// their messages (the exit-code contract in README):
//
//	nil, errHelp               0
//	any other error            1  the run failed ("kforge CMD: message")
//	*usageError, *configError  2  bad usage or config
//	*failedItemsError          3  finished with failed items
//	a failure after SIGINT/SIGTERM   128+signal (130/143): stopped, resumable
//
// A *silentError was already reported by the command (build logs through
// its logger, so a JSON log stays JSON): only its code counts.

// errHelp is a command that printed its usage on request: exit 0.
var errHelp = errors.New("help requested")

// usageError is bad usage: exit 2. Its message (when err is set) goes to
// stderr, then the usage (when usage is set). Both unset: the flag package
// already printed the problem and the usage.
type usageError struct {
	err   error
	usage func()
}

func (e *usageError) Error() string {
	if e.err == nil {
		return "bad usage"
	}
	return e.err.Error()
}

func (e *usageError) Unwrap() error { return e.err }

// usagef is bad usage with a message.
func usagef(format string, args ...any) error {
	return &usageError{err: fmt.Errorf(format, args...)}
}

// showUsage is bad usage told by the usage alone.
func showUsage(usage func()) error { return &usageError{usage: usage} }

// configError is a recipe that does not load or check: exit 2. Its message
// is printed as is (it names file:line and the key).
type configError struct{ err error }

func (e *configError) Error() string { return e.err.Error() }
func (e *configError) Unwrap() error { return e.err }

// failedItemsError is a run that finished with n failed items (recorded; a
// rerun retries exactly those): exit 3. err, when set, is printed.
type failedItemsError struct {
	n   int64
	err error
}

func (e *failedItemsError) Error() string {
	if e.err != nil {
		return e.err.Error()
	}
	return fmt.Sprintf("%d items failed", e.n)
}

func (e *failedItemsError) Unwrap() error { return e.err }

// failedItems is nil for no failed item, else a failedItemsError.
func failedItems(n int64) error {
	if n > 0 {
		return &failedItemsError{n: n}
	}
	return nil
}

// silentError is an error the command already reported; its code is err's.
type silentError struct{ err error }

func (e *silentError) Error() string { return e.err.Error() }
func (e *silentError) Unwrap() error { return e.err }

// cmdError names the (sub)command a message is printed under ("slurm
// submit"); without one, the command's own name is used.
type cmdError struct {
	cmd string
	err error
}

func (e *cmdError) Error() string { return e.err.Error() }
func (e *cmdError) Unwrap() error { return e.err }

// exitCode is the exit code for a command's error.
func exitCode(err error) int {
	var (
		ue *usageError
		ce *configError
		fe *failedItemsError
	)
	switch {
	case err == nil, errors.Is(err, errHelp):
		return exitOK
	case errors.As(err, &ue), errors.As(err, &ce):
		return exitUsage
	case errors.As(err, &fe):
		return exitItemsBad
	}
	return exitFailed
}

// report prints err for command name on w and returns its exit code.
func report(w io.Writer, name string, err error) int {
	code := exitCode(err)
	var (
		se *silentError
		ue *usageError
		ce *configError
		fe *failedItemsError
		ne *cmdError
	)
	prefix := "kforge"
	if name != "" {
		prefix += " " + name
	}
	if errors.As(err, &ne) {
		prefix = "kforge " + ne.cmd
	}
	switch {
	case err == nil, errors.Is(err, errHelp), errors.As(err, &se):
	case errors.As(err, &ue):
		if ue.err != nil {
			fmt.Fprintf(w, "%s: %v\n", prefix, ue.err)
		}
		if ue.usage != nil {
			ue.usage()
		}
	case errors.As(err, &ce):
		fmt.Fprintln(w, ce.err)
	case errors.As(err, &fe):
		if fe.err != nil {
			fmt.Fprintf(w, "%s: %v\n", prefix, fe.err)
		}
	default:
		fmt.Fprintf(w, "%s: %v\n", prefix, err)
	}
	return code
}

// exitAfterSignal is the exit code of a command that returned code after
// sig was caught (nil: none). A command the signal made fail exits
// 128+signal (143 for SIGTERM), so a scheduler and a wrapper script can tell
// "stopped, resumable" from a crash (1). A command that finished anyway
// (0, or 3 for failed items) and a usage error (2) keep their codes.
func exitAfterSignal(code int, sig os.Signal) int {
	s, ok := sig.(syscall.Signal)
	if !ok || code != exitFailed {
		return code
	}
	return exitSignalBase + int(s)
}
