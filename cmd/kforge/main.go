// Command kforge builds training datasets for kernel-writing models.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "kforge: the CLI is being wired")
	os.Exit(2)
}
