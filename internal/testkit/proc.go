package testkit

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
)

// Proc is one run of an imqttd process (Launch): its command, the log lines
// it wrote to stderr, the addresses of its "imqttd started" line and its
// exit. Imqttd and cmd/imqttd's node are built on it.
type Proc struct {
	Cmd *exec.Cmd
	// Exit receives the process's Wait result once it has exited; a reader
	// puts the value back (Exit <- err) so that others see it too.
	Exit chan error
	// Started delivers the bound addresses of the "imqttd started" line
	// (StartedAddrs), if that line comes.
	Started <-chan map[string]string

	mu    sync.Mutex
	lines []string
}

// Launch runs bin serve --log-format json --log-level debug args... in dir,
// with the environment without IMQTT_ variables (CleanEnv), and returns at
// once. via, when not empty, is a wrapper command line (e.g. unshare) that
// must exec bin, so that the process's PID is imqttd's. One goroutine reads
// the log until the process exits, then delivers the Wait result on Exit:
// the caller owns the process and must end it (signal it, or Kill).
func Launch(bin, dir string, via []string, args ...string) (*Proc, error) {
	full := append([]string{"serve", "--log-format", "json", "--log-level", "debug"}, args...)
	cmd := exec.Command(bin, full...)
	if len(via) > 0 {
		cmd = exec.Command(via[0], append(append(via[1:], bin), full...)...)
	}
	cmd.Dir = dir
	cmd.Env = CleanEnv()
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, fmt.Errorf("launch imqttd: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("launch imqttd: %w", err)
	}
	started := make(chan map[string]string, 1)
	p := &Proc{Cmd: cmd, Exit: make(chan error, 1), Started: started}
	go p.read(stderr, started)
	return p, nil
}

// read collects the log lines until the process exits, then stores its
// Wait result in Exit. It is the only reader of the pipe.
func (p *Proc) read(r io.Reader, started chan<- map[string]string) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		p.mu.Lock()
		p.lines = append(p.lines, line)
		p.mu.Unlock()
		if addrs, ok := StartedAddrs(line); ok {
			started <- addrs
		}
	}
	p.Exit <- p.Cmd.Wait()
}

// StartedAddrs parses a JSON log line: for the "imqttd started" line it
// returns the bound addresses, "listener_<name>" fields under <name> (tcp,
// ws...) plus "admin", "cluster" and "admin_token_file".
func StartedAddrs(line string) (map[string]string, bool) {
	var ev map[string]any
	if json.Unmarshal([]byte(line), &ev) != nil || ev["message"] != "imqttd started" {
		return nil, false
	}
	addrs := map[string]string{}
	for k, v := range ev {
		if name, ok := strings.CutPrefix(k, "listener_"); ok {
			addrs[name], _ = v.(string)
		}
	}
	for _, k := range []string{"admin", "cluster", "admin_token_file"} {
		if a, ok := ev[k].(string); ok {
			addrs[k] = a
		}
	}
	return addrs, true
}

// Lines returns a copy of the log lines so far.
func (p *Proc) Lines() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.lines...)
}

// Log returns the log lines so far, one per line.
func (p *Proc) Log() string { return strings.Join(p.Lines(), "\n") }

// Exited reports whether the process has exited (without consuming Exit).
func (p *Proc) Exited() bool {
	select {
	case err := <-p.Exit:
		p.Exit <- err
		return true
	default:
		return false
	}
}

// CleanEnv is the environment without IMQTT_ variables, which would change
// the configuration under test.
func CleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "IMQTT_") {
			env = append(env, kv)
		}
	}
	return env
}
