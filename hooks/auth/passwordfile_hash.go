package auth

import "slices"

// Hash returns a copy of user's bcrypt hash and whether the file lists the
// user: what `imqttd ctl user import` copies into the replicated user store.
func (p *PasswordFile) Hash(user string) ([]byte, bool) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	i, ok := p.index[user]
	if !ok {
		return nil, false
	}
	return slices.Clone(p.lines[i].hash), true
}
