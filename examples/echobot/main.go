// Command echobot is the imqtt Go SDK's example: a bot that answers every
// direct text message with "echo: <body>".
//
//	go run ./examples/echobot -url mqtt://127.0.0.1:1883 -user bot -password secret
//
// It keeps its outbox, cursors and client id in -store (a JSON file), so a
// restarted bot neither answers twice nor loses an answer. SIGINT or
// SIGTERM stops it.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/imqtt/imqtt/sdk/go/imqtt"
)

func main() {
	var cfg imqtt.Config
	store := ""
	flag.StringVar(&cfg.URL, "url", "mqtt://127.0.0.1:1883", "broker URL")
	flag.StringVar(&cfg.User, "user", "bot", "user name")
	flag.StringVar(&cfg.Password, "password", "", "password")
	flag.StringVar(&cfg.Token, "token", "", "token minted by the admin API (instead of -password)")
	flag.IntVar(&cfg.Protocol, "protocol", 5, "MQTT version: 5 or 4 (3.1.1)")
	flag.StringVar(&store, "store", "echobot.json", "state file (outbox, cursors, client id); empty: memory")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if store != "" {
		fs, err := imqtt.NewFileStore(store)
		if err != nil {
			fmt.Fprintln(os.Stderr, "echobot:", err)
			os.Exit(1)
		}
		cfg.Store = fs
	}
	if err := Run(ctx, cfg, func(err error) { fmt.Fprintln(os.Stderr, "echobot:", err) }); err != nil {
		fmt.Fprintln(os.Stderr, "echobot:", err)
		os.Exit(1)
	}
}
