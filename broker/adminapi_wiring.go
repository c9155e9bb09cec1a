package broker

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"

	"github.com/imqtt/imqtt/broker/adminapi"
	"github.com/imqtt/imqtt/internal/logfield"
)

// mountAdminAPI builds the admin API (broker/adminapi) from the node's parts and
// mounts its /api/v1/... routes on the admin listener, behind its bearer token.
// The API reads the MQTT side through adminapi.MQTT: the engine's
// snapshots. Call it from New, after the admin server and the engine exist
// and before Start.
func mountAdminAPI(b *Broker) error {
	d := adminapi.Deps{
		MQTT:    engineAdmin{e: b.engine},
		Store:   b.store,
		Apply:   b.writer.Apply,
		Cluster: b.node.Status,
		Join:    b.node.JoinForward,
		Remove:  b.node.RemoveForward,
		Routes: func() adminapi.RouteTable {
			r := b.router
			if r == nil {
				return adminapi.RouteTable{Local: []string{}, Remote: map[string][]string{}}
			}
			return adminapi.RouteTable{Local: r.LocalRoutes(), Remote: r.RemoteRoutes()}
		},
		Reload:        b.reloader.reload,
		Ready:         b.Ready,
		NodeID:        b.cfg.Node.ID,
		TokenRequired: b.admin.TokenRequired(),
		ApplyTimeout:  b.cfg.Storage.ApplyTimeout,
		Log:           b.rootLog.With().Str(logfield.NodeID, b.cfg.Node.ID).Logger(),
	}
	if b.im != nil {
		d.IM = b.im.svc
	}
	if b.accounts != nil {
		d.Users = b.accounts
	}
	api, err := adminapi.New(d)
	if err != nil {
		return err
	}
	if err := mountTokensAPI(b, api); err != nil { // tokens.go
		return err
	}
	return api.Mount(b.admin)
}

// reloader is the one reload path (SIGHUP through Broker.Reload, and POST
// /api/v1/reload): auth, ACL, IM, TLS per listener, in that order, each
// reported on its own, with whether the part's files changed since they were
// last loaded.
type reloader struct {
	b       *Broker
	mu      sync.Mutex // serialises reloads and guards digests
	digests map[string][sha256.Size]byte
}

// newReloader returns b's reloader with the current file digests recorded.
func newReloader(b *Broker) *reloader {
	rl := &reloader{b: b, digests: map[string][sha256.Size]byte{}}
	rl.remember(rl.parts())
	return rl
}

// part is one reloadable part and how to reload it.
type part struct {
	name, listener string
	files          []string
	reload         func() error
}

// parts lists the reloadable parts in Reload's order.
func (r *reloader) parts() []part {
	b := r.b
	a := b.cfg.Auth
	authFiles := nonEmpty(a.PasswordFile)
	if a.JWT.Enabled {
		authFiles = append(authFiles, nonEmpty(a.JWT.HMACSecretFile, a.JWT.PublicKeyFile)...)
	}
	ps := []part{
		{name: "auth", files: authFiles, reload: b.authHook.Reload},
		{name: "acl", files: nonEmpty(b.cfg.ACL.File), reload: b.aclHook.Reload},
	}
	if b.im != nil {
		var files []string
		if b.cfg.IM.Filter.Enabled {
			files = nonEmpty(b.cfg.IM.Filter.File)
		}
		ps = append(ps, part{name: "im", files: files, reload: b.reloadIM})
	}
	all := b.cfg.Listeners.All()
	names := make([]string, 0, len(all))
	for name, lc := range all {
		if lc.Enabled && (lc.Kind == "tls" || lc.Kind == "wss") {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	for _, name := range names {
		lc := all[name]
		ps = append(ps, part{
			name: "tls", listener: name,
			files:  nonEmpty(lc.TLS.CertFile, lc.TLS.KeyFile, lc.TLS.ClientCAFile),
			reload: b.tlsReloader(name),
		})
	}
	return ps
}

// tlsReloader returns the reload of one tls or wss listener.
func (b *Broker) tlsReloader(name string) func() error {
	return func() error { return b.transport.ReloadTLS(name) }
}

// reload is reloadAll for the admin API (the report carries the errors).
func (r *reloader) reload() adminapi.ReloadReport {
	rep, _ := r.reloadAll()
	return rep
}

// reloadAll reloads every part and reports each; a failed part keeps its
// state. The error joins the failures.
func (r *reloader) reloadAll() (adminapi.ReloadReport, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var rep adminapi.ReloadReport
	var errs []error
	for _, p := range r.parts() {
		out := adminapi.ReloadPart{Part: p.name, Listener: p.listener, Files: p.files, Status: adminapi.ReloadOK}
		if err := p.reload(); err != nil {
			out.Status, out.Error = adminapi.ReloadFailed, err.Error()
			errs = append(errs, fmt.Errorf("%s: %w", p.name, err))
		} else {
			out.Changed = r.changed(p.files)
			ev := r.b.log.Info().Str(logfield.Part, p.name).Bool(logfield.Changed, out.Changed)
			if p.listener != "" {
				ev = ev.Str(logfield.Listener, p.listener)
			}
			ev.Msg("reloaded")
		}
		rep.Parts = append(rep.Parts, out)
	}
	err := errors.Join(errs...)
	if err != nil {
		r.b.log.Error().Err(err).Msg("reload failed; the affected parts keep their previous config")
	}
	return rep, err
}

// remember records the current digest of every file of ps.
func (r *reloader) remember(ps []part) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range ps {
		r.changed(p.files)
	}
}

// changed records the files' digests and reports whether any differs from the
// one recorded before (a file that cannot be read counts as changed). r.mu held.
func (r *reloader) changed(files []string) bool {
	diff := false
	for _, f := range files {
		data, err := os.ReadFile(f)
		var sum [sha256.Size]byte
		if err == nil {
			sum = sha256.Sum256(data)
		}
		if old, ok := r.digests[f]; !ok || old != sum || err != nil {
			diff = true
		}
		r.digests[f] = sum
	}
	return diff
}

func nonEmpty(ss ...string) []string {
	var out []string
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}
