// Package systemd holds the systemd units for a nightly kforge build on a
// single machine (kforge-nightly.service and .timer). It has no code; its
// test checks the units.
package systemd
