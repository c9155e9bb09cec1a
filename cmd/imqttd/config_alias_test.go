package main

import "github.com/imqtt/imqtt/broker"

type brokerConfig = broker.Config

func newDefaultConfig() *broker.Config {
	c := broker.DefaultConfig()
	return &c
}
