package main

import (
	"fmt"
	"io"
)

// configCmd implements `imqttd config check FILE`: load, apply IMQTT_* overrides,
// validate, and report the first error with its key path.
func configCmd(args []string, stdout io.Writer, env []string) error {
	if len(args) != 2 || args[0] != "check" {
		return fmt.Errorf("%w: imqttd config check FILE", errUsage)
	}
	cfg, err := loadConfig(args[1], env)
	if err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("%w: %s: %w", errConfig, args[1], err)
	}
	fmt.Fprintf(stdout, "%s: ok\n", args[1])
	return nil
}
