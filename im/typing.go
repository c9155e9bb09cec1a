package im

// typingMaxMembers: typing indicators are not fanned out in groups larger than
// this (they are advisory; one per keystroke burst times N members is noise).
const typingMaxMembers = 100

// handleTyping handles im/typing/{conv}: checked, not stored, delivered at QoS 0
// to the other members' im/u/{m}/typing. Only refusals are acked.
func (s *Service) handleTyping(c Client, r *Request, conv Conv) Outcome {
	p, err := decodeTyping(r.Payload)
	if err == nil {
		err = s.checkMember(conv, c.User)
	}
	if err == nil {
		err = s.checkBlocked(conv, c.User) // not shown either way
	}
	var members []string
	if err == nil {
		members, err = s.convMembers(conv)
	}
	if err != nil {
		return s.refuse(c, r, "", "", err)
	}
	if len(members) > typingMaxMembers {
		return Outcome{}
	}
	b := make([]byte, 0, 96)
	b = appendStrField(append(b, '{'), "conv", conv.String(), true)
	b = appendStrField(b, "from", c.User, false)
	b = appendStrField(b, "state", p.State, false)
	b = appendIntField(b, "ts", s.nowMs(), false)
	b = append(b, '}')
	for _, m := range members {
		if m != c.User {
			s.deliver(Delivery{Topic: userTopic(m, leafTyping), Payload: b})
		}
	}
	return Outcome{}
}
