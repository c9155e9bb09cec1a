package imqtt

import (
	"context"
	"encoding/json"
	"fmt"
)

// This file wraps the rpc methods of docs/protocol.md "Methods". Each
// returns an *Error for a refusal; see RPC for the other errors.

// HistoryOptions pages a history call (docs/protocol.md "history").
type HistoryOptions struct {
	Before, After int64
	Limit         int
}

// HistoryResult is a page of a conversation's messages, in ascending seq.
type HistoryResult struct {
	Conv     string    `json:"conv"`
	LastSeq  int64     `json:"last_seq"`
	Messages []Message `json:"messages"`
	More     bool      `json:"more"`
}

// History returns a page of conv's messages.
func (c *Client) History(ctx context.Context, conv string, o HistoryOptions) (HistoryResult, error) {
	p := map[string]any{"conv": conv}
	if o.Before > 0 {
		p["before"] = o.Before
	}
	if o.After > 0 {
		p["after"] = o.After
	}
	if o.Limit > 0 {
		p["limit"] = o.Limit
	}
	var r HistoryResult
	return r, c.call(ctx, "history", p, &r)
}

// Conversation is one entry of Conversations.
type Conversation struct {
	Conv          string          `json:"conv"`
	Kind          string          `json:"kind"`
	Peer          string          `json:"peer,omitempty"`
	Group         string          `json:"group,omitempty"`
	Name          string          `json:"name,omitempty"`
	LastSeq       int64           `json:"last_seq"`
	Delivered     int64           `json:"delivered"`
	Read          int64           `json:"read"`
	Unread        int64           `json:"unread"`
	PeerDelivered int64           `json:"peer_delivered,omitempty"`
	PeerRead      int64           `json:"peer_read,omitempty"`
	Settings      json.RawMessage `json:"settings,omitempty"`
	Blocked       bool            `json:"blocked,omitempty"`
	DisplayName   string          `json:"display_name,omitempty"`
}

// ConversationsResult is the response of Conversations.
type ConversationsResult struct {
	Conversations []Conversation `json:"conversations"`
	More          bool           `json:"more"`
}

// Conversations lists the user's conversations.
func (c *Client) Conversations(ctx context.Context) (ConversationsResult, error) {
	var r ConversationsResult
	return r, c.call(ctx, "conversations", nil, &r)
}

// GroupResult is the response of the group.* changes.
type GroupResult struct {
	Group   string   `json:"group"`
	Conv    string   `json:"conv"`
	Seq     int64    `json:"seq"`
	Added   []string `json:"added,omitempty"`
	Skipped []string `json:"skipped,omitempty"`
}

// GroupOptions are the options of CreateGroup.
type GroupOptions struct {
	Open bool // anyone may join
}

// CreateGroup creates a group with the caller as owner and users as members.
func (c *Client) CreateGroup(ctx context.Context, name string, users []string, o GroupOptions) (GroupResult, error) {
	var r GroupResult
	return r, c.call(ctx, "group.create", map[string]any{"name": name, "users": nonNil(users), "open": o.Open}, &r)
}

// Invite adds users to group.
func (c *Client) Invite(ctx context.Context, group string, users []string) (GroupResult, error) {
	var r GroupResult
	return r, c.call(ctx, "group.invite", map[string]any{"group": group, "users": nonNil(users)}, &r)
}

// Join joins an open group.
func (c *Client) Join(ctx context.Context, group string) (GroupResult, error) {
	var r GroupResult
	return r, c.call(ctx, "group.join", map[string]any{"group": group}, &r)
}

// Leave leaves group.
func (c *Client) Leave(ctx context.Context, group string) (GroupResult, error) {
	var r GroupResult
	return r, c.call(ctx, "group.leave", map[string]any{"group": group}, &r)
}

// Kick removes user from group.
func (c *Client) Kick(ctx context.Context, group, user string) (GroupResult, error) {
	var r GroupResult
	return r, c.call(ctx, "group.kick", map[string]any{"group": group, "user": user}, &r)
}

// SetRole sets user's role in group: owner, admin or member.
func (c *Client) SetRole(ctx context.Context, group, user, role string) (GroupResult, error) {
	var r GroupResult
	return r, c.call(ctx, "group.role", map[string]any{"group": group, "user": user, "role": role}, &r)
}

// RenameGroup renames group.
func (c *Client) RenameGroup(ctx context.Context, group, name string) (GroupResult, error) {
	var r GroupResult
	return r, c.call(ctx, "group.rename", map[string]any{"group": group, "name": name}, &r)
}

// Member is one member of a group.
type Member struct {
	User        string `json:"user"`
	Role        string `json:"role"`
	Joined      int64  `json:"joined"`
	DisplayName string `json:"display_name,omitempty"`
}

// MembersResult is the response of Members.
type MembersResult struct {
	Group   string   `json:"group"`
	Conv    string   `json:"conv"`
	Name    string   `json:"name"`
	Open    bool     `json:"open"`
	Created int64    `json:"created"`
	Creator string   `json:"creator"`
	Members []Member `json:"members"`
}

// Members returns group's members.
func (c *Client) Members(ctx context.Context, group string) (MembersResult, error) {
	var r MembersResult
	return r, c.call(ctx, "group.members", map[string]any{"group": group}, &r)
}

// EventResult is the response of Edit, Recall and React: the event
// appended (ID, Seq, TS are empty when Changed is false).
type EventResult struct {
	Conv    string `json:"conv"`
	Target  int64  `json:"target"`
	Changed bool   `json:"changed"`
	ID      string `json:"id,omitempty"`
	Seq     int64  `json:"seq,omitempty"`
	TS      int64  `json:"ts,omitempty"`
}

// Edit replaces the body of the caller's text message conv/seq.
func (c *Client) Edit(ctx context.Context, conv string, seq int64, body string) (EventResult, error) {
	var r EventResult
	return r, c.call(ctx, "msg.edit", map[string]any{"conv": conv, "seq": seq, "body": body}, &r)
}

// Recall recalls message conv/seq.
func (c *Client) Recall(ctx context.Context, conv string, seq int64) (EventResult, error) {
	var r EventResult
	return r, c.call(ctx, "msg.recall", map[string]any{"conv": conv, "seq": seq}, &r)
}

// React adds (or with remove takes back) the reaction emoji on conv/seq.
func (c *Client) React(ctx context.Context, conv string, seq int64, emoji string, remove bool) (EventResult, error) {
	var r EventResult
	return r, c.call(ctx, "msg.react", map[string]any{"conv": conv, "seq": seq, "emoji": emoji, "remove": remove}, &r)
}

// Block blocks user (docs/protocol.md "Blocking").
func (c *Client) Block(ctx context.Context, user string) error {
	return c.call(ctx, "block", map[string]any{"user": user}, nil)
}

// Unblock unblocks user.
func (c *Client) Unblock(ctx context.Context, user string) error {
	return c.call(ctx, "unblock", map[string]any{"user": user}, nil)
}

// Blocked is one entry of BlockList.
type Blocked struct {
	User  string `json:"user"`
	Since int64  `json:"since"`
}

// BlockList returns the users the caller blocked.
func (c *Client) BlockList(ctx context.Context) ([]Blocked, error) {
	var r struct {
		Blocked []Blocked `json:"blocked"`
	}
	return r.Blocked, c.call(ctx, "block.list", nil, &r)
}

// SetConversation changes the caller's settings of conv (mute, mute_until,
// pin, archive, name: only the keys of set) and returns them as they are now.
func (c *Client) SetConversation(ctx context.Context, conv string, set map[string]any) (json.RawMessage, error) {
	var r struct {
		Settings json.RawMessage `json:"settings"`
	}
	return r.Settings, c.call(ctx, "conversation.set", map[string]any{"conv": conv, "set": set}, &r)
}

// MarkRead tells the conversation's members that the caller has read
// everything up to seq. A refusal (0x83 seq out of range, 0x87 not a
// member) is returned as *Error on MQTT 5 (from the PUBACK); on MQTT 3.1.1
// MarkRead returns once the broker has the publish and a refusal goes to
// OnError as an *Error whose Topic is im/receipt/{conv}.
func (c *Client) MarkRead(ctx context.Context, conv string, seq int64) error {
	return c.receipt(ctx, conv, "read", seq)
}

// MarkDelivered tells that the caller has received everything up to seq;
// refusals as for MarkRead.
func (c *Client) MarkDelivered(ctx context.Context, conv string, seq int64) error {
	return c.receipt(ctx, conv, "delivered", seq)
}

func (c *Client) receipt(ctx context.Context, conv, typ string, seq int64) error {
	return c.fire(ctx, "im/receipt/"+conv, map[string]any{"type": typ, "seq": seq})
}

// Typing sends state ("start" or "stop") to conv's other members;
// refusals (0x87 blocked...) as for MarkRead, with Topic im/typing/{conv}.
func (c *Client) Typing(ctx context.Context, conv, state string) error {
	return c.fire(ctx, "im/typing/"+conv, map[string]any{"state": state})
}

// fire publishes a request that the server answers only when it refuses
// it (receipts, typing): it returns once the broker has the publish, with
// the PUBACK's refusal as *Error on MQTT 5. On MQTT 3.1.1 the refusal is
// an ack without cid that handleAck gives to OnError.
func (c *Client) fire(ctx context.Context, topic string, v any) error {
	if err := c.stopErr(); err != nil {
		return err
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("imqtt: encode %s: %w", topic, err)
	}
	tctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	return c.tr.publish(tctx, topic, b, "", nil)
}

// WatchPresence subscribes to the presence of users (OnPresence), now and
// after every reconnect.
func (c *Client) WatchPresence(ctx context.Context, users ...string) error {
	c.mu.Lock()
	c.watched = append(c.watched, users...)
	c.mu.Unlock()
	tctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	for _, u := range users {
		if err := c.tr.subscribe(tctx, "im/presence/"+u); err != nil {
			return err
		}
	}
	return nil
}

// ProfileUpdate holds the profile fields to change: nil leaves a field as
// it is, "" clears it.
type ProfileUpdate struct {
	DisplayName *string `json:"display_name,omitempty"`
	Avatar      *string `json:"avatar,omitempty"`
	Status      *string `json:"status,omitempty"`
}

// SetProfile changes the caller's profile and returns it as it is now.
func (c *Client) SetProfile(ctx context.Context, u ProfileUpdate) (Profile, error) {
	var r struct {
		Profile Profile `json:"profile"`
	}
	return r.Profile, c.call(ctx, "profile.set", u, &r)
}

// GetProfiles returns the profiles of users the caller may see (none:
// the caller's own).
func (c *Client) GetProfiles(ctx context.Context, users []string) ([]Profile, error) {
	var r struct {
		Profiles []Profile `json:"profiles"`
	}
	return r.Profiles, c.call(ctx, "profile.get", map[string]any{"users": nonNil(users)}, &r)
}

// All addresses a notification to everyone (Notify only).
func All() Target { return Target{kind: "all"} }

// NotifyResult is the response of Notify: the notification's id and how
// many topics it was published to (one per user, 1 for All).
type NotifyResult struct {
	ID         string `json:"id"`
	Recipients int    `json:"recipients"`
}

// Notify sends an admin notification to a user, a group or All().
func (c *Client) Notify(ctx context.Context, to Target, title, body string) (NotifyResult, error) {
	dest := map[string]any{to.kind: to.id}
	if to.kind == "all" {
		dest = map[string]any{"all": true}
	}
	var r NotifyResult
	return r, c.call(ctx, "notify", map[string]any{"to": dest, "title": title, "body": body}, &r)
}

// nonNil turns a nil slice into an empty one (JSON [] rather than null).
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
