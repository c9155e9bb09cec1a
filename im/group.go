package im

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/imqtt/imqtt/internal/logfield"
	"github.com/imqtt/imqtt/persist"
)

// Group management (rpc group.*). Permission checks read the committed state
// through guards (guard.go): the command carries every record its decision
// read and applies only if they are unchanged, else the request reads and
// decides again (DESIGN.md "Groups", "Guards"). Every membership change
// appends a notice to the group's conversation in the same command.

const (
	// maxGroupName bounds a group name (bytes).
	maxGroupName = 128
	// maxInviteBatch bounds the users of one group.create or group.invite.
	maxInviteBatch = 256
)

// groupResult is the response of the group methods that change something.
type groupResult struct {
	Group   string   `json:"group"`
	Conv    string   `json:"conv"`
	Seq     uint64   `json:"seq,omitempty"` // the (last) notice's seq
	Added   []string `json:"added,omitempty"`
	Skipped []string `json:"skipped,omitempty"`
}

func checkGroupName(name string) error {
	if name == "" || len(name) > maxGroupName || !printable(name) {
		return fmt.Errorf("%w: name must be 1..%d bytes of printable UTF-8", ErrBadPayload, maxGroupName)
	}
	return nil
}

// checkUsers validates, de-duplicates and bounds a user list; skip is dropped.
func checkUsers(users []string, skip string) ([]string, error) {
	if len(users) > maxInviteBatch {
		return nil, fmt.Errorf("%w: %d users above %d per request", ErrBadPayload, len(users), maxInviteBatch)
	}
	seen := make(map[string]bool, len(users))
	out := make([]string, 0, len(users))
	for i, u := range users {
		if !ValidName(u) {
			return nil, fmt.Errorf("%w: users[%d] %q is not a valid user name", ErrBadPayload, i, clip(u))
		}
		if u == skip || seen[u] {
			continue
		}
		seen[u] = true
		out = append(out, u)
	}
	return out, nil
}

// groupArg returns the request's group id.
func groupArg(req *rpcRequest) (string, error) {
	if !ValidName(req.Group) {
		return "", fmt.Errorf("%w: group %q is not a valid group id", ErrBadPayload, clip(req.Group))
	}
	return req.Group, nil
}

// actor returns user's member record in g, or ErrNotMember.
func (s *Service) actor(g, user string) (memberRec, error) {
	m, ok, err := s.memberOf(g, user)
	if err != nil {
		return m, err
	}
	if !ok {
		return m, fmt.Errorf("%w: group %s", ErrNotMember, g)
	}
	return m, nil
}

func jsonValue(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // the stored types always marshal
	}
	return b
}

// notice is one notice to append: n, and the users whose join seq and cursors
// it raises (joined), or none for the actor's cursors only.
type notice struct {
	n       Notice
	joiners []string
}

// commitNotices proposes pre and one append per notice as one command, then
// fans each notice out to the group's members (after the change) and extra.
// It returns the last notice's seq.
func (s *Service) commitNotices(ctx context.Context, g, actor string, pre []persist.Op, notices []notice, extra ...string) (uint64, error) {
	now := s.now()
	cs := GroupConv(g).String()
	ops := append([]persist.Op(nil), pre...)
	envs := make([]Envelope, len(notices))
	for i := range notices {
		nt := &notices[i]
		nt.n.By = actor
		envs[i] = Envelope{ID: s.ids.next(now), Conv: cs, From: actor, TS: now.UnixMilli(), Type: TypeNotice, Notice: &nt.n}
		raise := [][]byte{readKey(cs, actor), deliveredKey(cs, actor)}
		for _, j := range nt.joiners {
			if j != actor {
				raise = append(raise, readKey(cs, j), deliveredKey(cs, j))
			}
			raise = append(raise, joinKey(g, j))
		}
		ops = append(ops, persist.AppendRawOp(counterKey(cs), msgPrefix(cs), nil, envs[i].appendStored(nil), 0, raise...))
	}
	rs, err := s.apply(ctx, ops)
	if err != nil {
		return 0, err
	}
	members, err := s.convMembers(GroupConv(g))
	if err != nil {
		s.log.Warn().Err(err).Str(logfield.Group, g).Msg("im fanout skipped")
	}
	for _, x := range extra {
		if !contains(members, x) {
			members = append(members, x)
		}
	}
	var seq uint64
	for i := range envs {
		envs[i].Seq = rs[len(pre)+i].Seq
		seq = envs[i].Seq
		s.fanout(members, &envs[i], envs[i].AppendJSON(nil), "")
	}
	return seq, nil
}

func contains(list []string, x string) bool {
	for _, v := range list {
		if v == x {
			return true
		}
	}
	return false
}

// addOps are the ops that make user a member with role.
func addOps(g, user, role, by string, now int64) []persist.Op {
	return []persist.Op{
		persist.PutRawOp(memberKey(g, user), jsonValue(memberRec{Role: role, Joined: now, By: by}), 0),
		persist.PutRawOp(userConvKey(user, GroupConv(g).String()), nil, 0),
	}
}

// removeOps are the ops that end user's membership (cursors and join seq stay:
// a re-join raises them).
func removeOps(g, user string) []persist.Op {
	return []persist.Op{
		persist.DeleteRawOp(memberKey(g, user)),
		persist.DeleteRawOp(userConvKey(user, GroupConv(g).String())),
	}
}

// groupCreate: {name, users?, open?}. The group id is server-assigned (the
// decimal of a fresh message id), the creator is the owner, users are members.
func (s *Service) groupCreate(ctx context.Context, user string, req *rpcRequest) (any, error) {
	if err := checkGroupName(req.Name); err != nil {
		return nil, err
	}
	users, err := checkUsers(req.Users, user)
	if err != nil {
		return nil, err
	}
	if len(users)+1 > s.cfg.GroupMaxMembers {
		return nil, fmt.Errorf("%w: %d members above %d", ErrGroupFull, len(users)+1, s.cfg.GroupMaxMembers)
	}
	now := s.now()
	g := strconv.FormatUint(s.ids.next(now), 10)
	ms := now.UnixMilli()
	pre := []persist.Op{persist.PutRawOp(groupMetaKey(g), jsonValue(groupMeta{Name: req.Name, Open: req.Open, Created: ms, Creator: user}), 0)}
	pre = append(pre, addOps(g, user, RoleOwner, user, ms)...)
	for _, u := range users {
		pre = append(pre, addOps(g, u, RoleMember, user, ms)...)
	}
	pre = append(pre, countOp(g, len(users)+1))
	// One notice; every initial member's join seq and cursors are raised to it.
	all := append([]string{user}, users...)
	cs := GroupConv(g).String()
	env := Envelope{ID: s.ids.next(now), Conv: cs, From: user, TS: ms, Type: TypeNotice,
		Notice: &Notice{Event: EventCreated, By: user, Name: req.Name, Users: all}}
	raise := make([][]byte, 0, 3*len(all))
	for _, u := range all {
		raise = append(raise, joinKey(g, u), readKey(cs, u), deliveredKey(cs, u))
	}
	ops := append(pre, persist.AppendRawOp(counterKey(cs), msgPrefix(cs), nil, env.appendStored(nil), 0, raise...))
	rs, err := s.apply(ctx, ops)
	if err != nil {
		return nil, err
	}
	env.Seq = rs[len(rs)-1].Seq
	s.fanout(all, &env, env.AppendJSON(nil), "")
	return groupResult{Group: g, Conv: cs, Seq: env.Seq, Added: users}, nil
}

// groupInvite: {group, users}. Admins and the owner add members.
func (s *Service) groupInvite(ctx context.Context, user string, req *rpcRequest) (any, error) {
	g, err := groupArg(req)
	if err != nil {
		return nil, err
	}
	return s.guarded(ctx, groupScope(g), func(gs *guards) (any, error) { return s.invite(ctx, gs, g, user, req) })
}

func (s *Service) invite(ctx context.Context, gs *guards, g, user string, req *rpcRequest) (any, error) {
	me, err := gs.actor(g, user)
	if err != nil {
		return nil, err
	}
	if roleRank(me.Role) < roleRank(RoleAdmin) {
		return nil, fmt.Errorf("%w: only admins and the owner invite", ErrForbidden)
	}
	users, err := checkUsers(req.Users, user)
	if err != nil {
		return nil, err
	}
	count, err := gs.count(g, true) // guarded: the bound is checked on the count applied to
	if err != nil {
		return nil, err
	}
	res := groupResult{Group: g, Conv: GroupConv(g).String()}
	var pre []persist.Op
	ms := s.nowMs()
	for _, u := range users {
		_, ok, err := gs.member(g, u) // guarded: still not a member when applied
		if err != nil {
			return nil, err
		}
		if ok {
			res.Skipped = append(res.Skipped, u)
			continue
		}
		res.Added = append(res.Added, u)
		pre = append(pre, addOps(g, u, RoleMember, user, ms)...)
	}
	// One notice for the whole invite (one per user made building a large group
	// quadratic: every notice goes to every member): `user` when one joined,
	// `users` when several did.
	joined := Notice{Event: EventJoined, Users: res.Added}
	if len(res.Added) == 1 {
		joined = Notice{Event: EventJoined, User: res.Added[0]}
	}
	notices := []notice{{n: joined, joiners: res.Added}}
	if len(res.Added) == 0 {
		return nil, fmt.Errorf("%w: no one to add (already members)", ErrConflict)
	}
	if total := count.n + uint64(len(res.Added)); total > uint64(s.cfg.GroupMaxMembers) {
		return nil, fmt.Errorf("%w: %d members above %d", ErrGroupFull, total, s.cfg.GroupMaxMembers)
	}
	pre = append(pre, count.add(len(res.Added)))
	res.Seq, err = s.commitNotices(ctx, g, user, gs.with(pre), notices)
	if err != nil {
		return nil, err
	}
	return res, nil
}

// groupJoin: {group}. Anyone may join an open group.
func (s *Service) groupJoin(ctx context.Context, user string, req *rpcRequest) (any, error) {
	g, err := groupArg(req)
	if err != nil {
		return nil, err
	}
	return s.guarded(ctx, groupScope(g), func(gs *guards) (any, error) { return s.join(ctx, gs, g, user) })
}

func (s *Service) join(ctx context.Context, gs *guards, g, user string) (any, error) {
	meta, ok, err := gs.meta(g)
	if err != nil {
		return nil, err
	}
	if !ok || !meta.Open {
		return nil, fmt.Errorf("%w: no open group %s", ErrNotMember, g)
	}
	if _, ok, err := gs.member(g, user); err != nil {
		return nil, err
	} else if ok {
		return nil, fmt.Errorf("%w: already a member of %s", ErrConflict, g)
	}
	count, err := gs.count(g, true)
	if err != nil {
		return nil, err
	}
	if count.n == 0 {
		// The owner left last: no one could run the group again.
		return nil, fmt.Errorf("%w: no open group %s (no members left)", ErrNotMember, g)
	}
	if count.n+1 > uint64(s.cfg.GroupMaxMembers) {
		return nil, fmt.Errorf("%w: %d members", ErrGroupFull, count.n)
	}
	pre := append(addOps(g, user, RoleMember, user, s.nowMs()), count.add(1))
	seq, err := s.commitNotices(ctx, g, user, gs.with(pre),
		[]notice{{n: Notice{Event: EventJoined, User: user}, joiners: []string{user}}})
	if err != nil {
		return nil, err
	}
	return groupResult{Group: g, Conv: GroupConv(g).String(), Seq: seq}, nil
}

// groupLeave: {group}. The owner must hand ownership over first, unless alone.
func (s *Service) groupLeave(ctx context.Context, user string, req *rpcRequest) (any, error) {
	g, err := groupArg(req)
	if err != nil {
		return nil, err
	}
	return s.guarded(ctx, groupScope(g), func(gs *guards) (any, error) { return s.leave(ctx, gs, g, user) })
}

func (s *Service) leave(ctx context.Context, gs *guards, g, user string) (any, error) {
	me, err := gs.actor(g, user)
	if err != nil {
		return nil, err
	}
	// Only the owner's decision depends on the count (alone): guarded then.
	count, err := gs.count(g, me.Role == RoleOwner)
	if err != nil {
		return nil, err
	}
	if me.Role == RoleOwner && count.n > 1 {
		return nil, fmt.Errorf("%w: the owner must make another member owner (group.role) before leaving", ErrConflict)
	}
	seq, err := s.commitNotices(ctx, g, user, gs.with(append(removeOps(g, user), count.add(-1))),
		[]notice{{n: Notice{Event: EventLeft, User: user}}}, user)
	if err != nil {
		return nil, err
	}
	return groupResult{Group: g, Conv: GroupConv(g).String(), Seq: seq}, nil
}

// target checks the member an actor acts on: a valid name, not the actor (self
// is the refusal for that case), and a member of g (guarded).
func (gs *guards) target(g, actor, name, self string) (memberRec, error) {
	if !ValidName(name) {
		return memberRec{}, fmt.Errorf("%w: user %q", ErrBadPayload, clip(name))
	}
	if name == actor {
		return memberRec{}, fmt.Errorf("%w: %s", ErrConflict, self)
	}
	m, ok, err := gs.member(g, name)
	if err != nil {
		return memberRec{}, err
	}
	if !ok {
		return memberRec{}, fmt.Errorf("%w: %s is not a member", ErrConflict, name)
	}
	return m, nil
}

// groupKick: {group, user}. The owner kicks anyone, admins kick members.
func (s *Service) groupKick(ctx context.Context, user string, req *rpcRequest) (any, error) {
	g, err := groupArg(req)
	if err != nil {
		return nil, err
	}
	return s.guarded(ctx, groupScope(g), func(gs *guards) (any, error) { return s.kick(ctx, gs, g, user, req) })
}

func (s *Service) kick(ctx context.Context, gs *guards, g, user string, req *rpcRequest) (any, error) {
	me, err := gs.actor(g, user)
	if err != nil {
		return nil, err
	}
	target, err := gs.target(g, user, req.User, "use group.leave to leave")
	if err != nil {
		return nil, err
	}
	if roleRank(me.Role) < roleRank(RoleAdmin) || roleRank(target.Role) >= roleRank(me.Role) {
		return nil, fmt.Errorf("%w: a %s cannot kick a %s", ErrForbidden, me.Role, target.Role)
	}
	count, err := gs.count(g, false)
	if err != nil {
		return nil, err
	}
	seq, err := s.commitNotices(ctx, g, user, gs.with(append(removeOps(g, req.User), count.add(-1))),
		[]notice{{n: Notice{Event: EventKicked, User: req.User}}}, req.User)
	if err != nil {
		return nil, err
	}
	return groupResult{Group: g, Conv: GroupConv(g).String(), Seq: seq}, nil
}

// groupRole: {group, user, role}. Only the owner sets roles; role "owner" hands
// ownership over (the old owner becomes an admin).
func (s *Service) groupRole(ctx context.Context, user string, req *rpcRequest) (any, error) {
	g, err := groupArg(req)
	if err != nil {
		return nil, err
	}
	return s.guarded(ctx, groupScope(g), func(gs *guards) (any, error) { return s.setRole(ctx, gs, g, user, req) })
}

func (s *Service) setRole(ctx context.Context, gs *guards, g, user string, req *rpcRequest) (any, error) {
	me, err := gs.actor(g, user)
	if err != nil {
		return nil, err
	}
	if me.Role != RoleOwner {
		return nil, fmt.Errorf("%w: only the owner sets roles", ErrForbidden)
	}
	if roleRank(req.Role) == 0 {
		return nil, fmt.Errorf("%w: role %q: must be owner, admin or member", ErrBadPayload, clip(req.Role))
	}
	target, err := gs.target(g, user, req.User, "the owner cannot change their own role")
	if err != nil {
		return nil, err
	}
	if target.Role == req.Role {
		return nil, fmt.Errorf("%w: %s is already %s", ErrConflict, req.User, req.Role)
	}
	target.Role = req.Role
	pre := []persist.Op{persist.PutRawOp(memberKey(g, req.User), jsonValue(target), 0)}
	if req.Role == RoleOwner {
		me.Role = RoleAdmin
		pre = append(pre, persist.PutRawOp(memberKey(g, user), jsonValue(me), 0))
	}
	seq, err := s.commitNotices(ctx, g, user, gs.with(pre), []notice{{n: Notice{Event: EventRole, User: req.User, Role: req.Role}}})
	if err != nil {
		return nil, err
	}
	return groupResult{Group: g, Conv: GroupConv(g).String(), Seq: seq}, nil
}

// groupRename: {group, name}. Admins and the owner rename.
func (s *Service) groupRename(ctx context.Context, user string, req *rpcRequest) (any, error) {
	g, err := groupArg(req)
	if err != nil {
		return nil, err
	}
	return s.guarded(ctx, groupScope(g), func(gs *guards) (any, error) { return s.rename(ctx, gs, g, user, req) })
}

func (s *Service) rename(ctx context.Context, gs *guards, g, user string, req *rpcRequest) (any, error) {
	me, err := gs.actor(g, user)
	if err != nil {
		return nil, err
	}
	if roleRank(me.Role) < roleRank(RoleAdmin) {
		return nil, fmt.Errorf("%w: only admins and the owner rename", ErrForbidden)
	}
	if err := checkGroupName(req.Name); err != nil {
		return nil, err
	}
	meta, _, err := gs.meta(g)
	if err != nil {
		return nil, err
	}
	meta.Name = req.Name
	seq, err := s.commitNotices(ctx, g, user, gs.with([]persist.Op{persist.PutRawOp(groupMetaKey(g), jsonValue(meta), 0)}),
		[]notice{{n: Notice{Event: EventRenamed, Name: req.Name}}})
	if err != nil {
		return nil, err
	}
	return groupResult{Group: g, Conv: GroupConv(g).String(), Seq: seq}, nil
}

// membersResult is the response of group.members.
type membersResult struct {
	Group   string       `json:"group"`
	Conv    string       `json:"conv"`
	Name    string       `json:"name"`
	Open    bool         `json:"open"`
	Created int64        `json:"created"`
	Creator string       `json:"creator"`
	Members []memberInfo `json:"members"`
}

type memberInfo struct {
	User   string `json:"user"`
	Role   string `json:"role"`
	Joined int64  `json:"joined"`
	// DisplayName: the member's, as the caller may see it (profile.go).
	DisplayName string `json:"display_name,omitempty"`
}

// groupMembers: {group}. Any member lists the group.
func (s *Service) groupMembers(user string, req *rpcRequest) (any, error) {
	g, err := groupArg(req)
	if err != nil {
		return nil, err
	}
	if _, err := s.actor(g, user); err != nil {
		return nil, err
	}
	var meta groupMeta
	if _, err := s.getJSON(groupMetaKey(g), &meta); err != nil {
		return nil, err
	}
	ms, err := s.members(g)
	if err != nil {
		return nil, err
	}
	res := membersResult{Group: g, Conv: GroupConv(g).String(), Name: meta.Name, Open: meta.Open,
		Created: meta.Created, Creator: meta.Creator, Members: make([]memberInfo, len(ms))}
	for i, m := range ms {
		res.Members[i] = memberInfo{User: m.User, Role: m.Role, Joined: m.Joined}
	}
	if err := s.addMemberNames(user, res.Members); err != nil {
		return nil, err
	}
	return res, nil
}
