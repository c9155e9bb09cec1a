package im

import (
	"fmt"
	"strings"
)

// RPC methods (im/rpc/{method}).
const (
	MethodGroupCreate   = "group.create"
	MethodGroupInvite   = "group.invite"
	MethodGroupJoin     = "group.join"
	MethodGroupLeave    = "group.leave"
	MethodGroupKick     = "group.kick"
	MethodGroupRole     = "group.role"
	MethodGroupRename   = "group.rename"
	MethodGroupMembers  = "group.members"
	MethodHistory       = "history"
	MethodSync          = "sync"
	MethodConversations = "conversations"
	MethodNotify        = "notify"

	MethodBlock     = "block"
	MethodUnblock   = "unblock"
	MethodBlockList = "block.list"
	MethodConvSet   = "conversation.set"
	MethodMsgEdit   = "msg.edit"
	MethodMsgRecall = "msg.recall"
	MethodMsgReact  = "msg.react"
)

var methods = map[string]bool{
	MethodGroupCreate: true, MethodGroupInvite: true, MethodGroupJoin: true, MethodGroupLeave: true,
	MethodGroupKick: true, MethodGroupRole: true, MethodGroupRename: true, MethodGroupMembers: true,
	MethodHistory: true, MethodSync: true, MethodConversations: true, MethodNotify: true,
	MethodBlock: true, MethodUnblock: true, MethodBlockList: true, MethodConvSet: true,
	MethodMsgEdit: true, MethodMsgRecall: true, MethodMsgReact: true,
	MethodUpload:     true, // im/media.go
	MethodProfileSet: true, MethodProfileGet: true,
}

// Down topic leaves under im/u/{user}/.
const (
	leafMsg     = "msg"
	leafAck     = "ack"
	leafReceipt = "receipt"
	leafTyping  = "typing"
	leafNotify  = "notify"
	leafRPC     = "rpc"
)

// TopicNotifyAll is where notifications to everyone are published.
const TopicNotifyAll = "im/notify/all"

// upKind is the kind of an upstream topic.
type upKind uint8

const (
	upSendUser upKind = 1 + iota
	upSendGroup
	upReceipt
	upTyping
	upRPC
)

// upTopic is a parsed upstream topic.
type upTopic struct {
	kind   upKind
	name   string // upSendUser: recipient; upSendGroup: group id; upRPC: method
	conv   Conv   // upReceipt, upTyping
	method string
}

// parseUp parses an upstream topic: im/send/user/{to}, im/send/group/{group},
// im/receipt/{conv}, im/typing/{conv}, im/rpc/{method}. Anything else is
// ErrBadTopic.
func parseUp(topic string) (upTopic, error) {
	rest, ok := strings.CutPrefix(topic, "im/")
	if !ok {
		return upTopic{}, fmt.Errorf("%w: %q is not under im/", ErrBadTopic, clip(topic))
	}
	lvl, arg, _ := strings.Cut(rest, "/")
	switch lvl {
	case "send":
		kind, name, ok := strings.Cut(arg, "/")
		if ok && ValidName(name) {
			switch kind {
			case "user":
				return upTopic{kind: upSendUser, name: name}, nil
			case "group":
				return upTopic{kind: upSendGroup, name: name}, nil
			}
		}
	case "receipt", "typing":
		c, err := ParseConv(arg)
		if err != nil {
			return upTopic{}, err
		}
		if lvl == "receipt" {
			return upTopic{kind: upReceipt, conv: c}, nil
		}
		return upTopic{kind: upTyping, conv: c}, nil
	case "rpc":
		if methods[arg] {
			return upTopic{kind: upRPC, method: arg}, nil
		}
		// The kind is kept so the refusal goes where rpc responses go.
		return upTopic{kind: upRPC, method: clip(arg)}, fmt.Errorf("%w: unknown method %q", ErrBadTopic, clip(arg))
	}
	return upTopic{}, fmt.Errorf("%w: %q is not an im up topic", ErrBadTopic, clip(topic))
}

// IsIMTopic reports whether a topic name or filter belongs to the im/ tree, whose
// access the Service decides (CanPublish, CanSubscribe, CanReceive): its first
// level is "im", also behind a well-formed shared-subscription prefix
// ($share/{group}/im/...; see stripShare).
func IsIMTopic(topic string) bool {
	topic = stripShare(topic)
	return topic == "im" || strings.HasPrefix(topic, "im/")
}

// userTopic returns im/u/{user}/{leaf}.
func userTopic(user, leaf string) string {
	return "im/u/" + user + "/" + leaf
}

// presenceTopic returns im/presence/{user}.
func presenceTopic(user string) string { return "im/presence/" + user }

// inOwnTree reports whether topic is a topic name under im/u/{user}/ (a reply
// topic a user may choose): at least one level below the user, no wildcards.
func inOwnTree(user, topic string) bool {
	rest, ok := strings.CutPrefix(topic, "im/u/"+user+"/")
	if !ok || rest == "" || !ValidName(user) {
		return false
	}
	return !strings.ContainsAny(rest, "+#\x00")
}
