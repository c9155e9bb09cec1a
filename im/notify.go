package im

import "fmt"

// maxTitle bounds a notification title (bytes).
const maxTitle = 256

// notifyResult is the response of rpc notify.
type notifyResult struct {
	ID         string `json:"id"`
	Recipients int    `json:"recipients"` // topics published to: users, or 1 for all
}

// notify: {to: {user}|{group}|{all: true}, title?, body}. Admins (Config.Admins,
// or Options.IsAdmin: the user store's "admin" role) only. The envelope is stamped like a message (id, from, ts) and published at
// QoS 1 on im/u/{user}/notify of each recipient, or once on im/notify/all; it is
// not stored.
func (s *Service) notify(user string, req *rpcRequest) (any, error) {
	if !s.cfg.isAdmin(user) && (s.opts.IsAdmin == nil || !s.opts.IsAdmin(user)) {
		return nil, fmt.Errorf("%w: only admins send notifications", ErrForbidden)
	}
	return s.sendNotify(user, req)
}

// sendNotify is notify without the admin check (the operator API calls it).
func (s *Service) sendNotify(user string, req *rpcRequest) (any, error) {
	to := req.To
	if to == nil {
		return nil, fmt.Errorf("%w: to is required", ErrBadPayload)
	}
	n := 0
	if to.User != "" {
		n++
	}
	if to.Group != "" {
		n++
	}
	if to.All {
		n++
	}
	if n != 1 {
		return nil, fmt.Errorf("%w: to needs exactly one of user, group, all", ErrBadPayload)
	}
	if req.Body == "" {
		return nil, fmt.Errorf("%w: empty body", ErrBadPayload)
	}
	if len(req.Body) > s.cfg.MaxBodyBytes {
		return nil, fmt.Errorf("%w: body of %d bytes above %d", ErrTooLarge, len(req.Body), s.cfg.MaxBodyBytes)
	}
	if len(req.Title) > maxTitle || !printable(req.Title) {
		return nil, fmt.Errorf("%w: title must be up to %d bytes of printable UTF-8", ErrBadPayload, maxTitle)
	}
	var topics []string
	switch {
	case to.All:
		topics = []string{TopicNotifyAll}
	case to.User != "":
		if !ValidName(to.User) {
			return nil, fmt.Errorf("%w: to.user %q", ErrBadPayload, clip(to.User))
		}
		topics = []string{userTopic(to.User, leafNotify)}
	default:
		if !ValidName(to.Group) {
			return nil, fmt.Errorf("%w: to.group %q", ErrBadPayload, clip(to.Group))
		}
		ms, err := s.members(to.Group)
		if err != nil {
			return nil, err
		}
		if len(ms) == 0 {
			return nil, fmt.Errorf("%w: no group %s", ErrConflict, to.Group)
		}
		for _, m := range ms {
			topics = append(topics, userTopic(m.User, leafNotify))
		}
	}
	now := s.now()
	id := s.ids.next(now)
	b := make([]byte, 0, 128+len(req.Body))
	b = appendIDField(append(b, '{'), "id", id, true)
	b = appendStrField(b, "type", TypeNotify, false)
	b = appendStrField(b, "from", user, false)
	b = appendIntField(b, "ts", now.UnixMilli(), false)
	b = append(appendKey(b, "to", false), '{')
	switch {
	case to.All:
		b = appendBoolField(b, "all", true, true)
	case to.User != "":
		b = appendStrField(b, "user", to.User, true)
	default:
		b = appendStrField(b, "group", to.Group, true)
	}
	b = append(b, '}')
	if req.Title != "" {
		b = appendStrField(b, "title", req.Title, false)
	}
	b = appendStrField(b, "body", req.Body, false)
	b = append(b, '}')
	for _, t := range topics {
		s.deliver(Delivery{Topic: t, Payload: b, QoS: 1})
	}
	return notifyResult{ID: fmt.Sprint(id), Recipients: len(topics)}, nil
}
