package metrics_test

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/imqtt/imqtt/broker/admin"
	"github.com/imqtt/imqtt/hooks/ext"
	"github.com/imqtt/imqtt/hooks/metrics"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/rs/zerolog"
)

const (
	listenerID    = "t1"
	labelListener = "listener=" + listenerID
)

// testBroker is the metrics registry served by a real admin server (the
// engine's gauges are zero: no engine runs here).
type testBroker struct {
	m        *metrics.Metrics
	adminURL string
}

func newTestBroker(t *testing.T) *testBroker {
	t.Helper()
	m, err := metrics.New(metrics.Options{Gauges: func() ext.Gauges { return ext.Gauges{} }})
	if err != nil {
		t.Fatalf("metrics.New: %v", err)
	}
	cfg := admin.DefaultConfig()
	cfg.Address = "127.0.0.1:0"
	cfg.RequireToken = false // loopback opt-out: these tests scrape without a token
	adm, err := admin.New(cfg, admin.Deps{Metrics: m}, zerolog.New(zerolog.NewTestWriter(t)))
	if err != nil {
		t.Fatalf("admin.New: %v", err)
	}
	if err := adm.Start(); err != nil {
		t.Fatalf("admin.Start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := adm.Close(ctx); err != nil {
			t.Errorf("admin.Close: %v", err)
		}
	})
	return &testBroker{m: m, adminURL: "http://" + adm.Addr()}
}

// scrape is one parsed GET /metrics.
type scrape map[string]*dto.MetricFamily

func (b *testBroker) scrape(t *testing.T) scrape {
	t.Helper()
	resp, err := http.Get(b.adminURL + "/metrics")
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: status %d", resp.StatusCode)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return fams
}

// value returns the value of the series of family name whose labels are exactly
// the "k=v" pairs given, and whether it exists.
func (s scrape) value(name string, labels ...string) (float64, bool) {
	mf, ok := s[name]
	if !ok {
		return 0, false
	}
	want := strings.Join(labels, ",")
	for _, m := range mf.GetMetric() {
		var got []string
		for _, lp := range m.GetLabel() {
			got = append(got, lp.GetName()+"="+lp.GetValue())
		}
		sort.Strings(got)
		if strings.Join(got, ",") != want {
			continue
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Untyped != nil:
			return m.Untyped.GetValue(), true
		}
	}
	return 0, false
}

// expect is one series and its wanted value.
type expect struct {
	name   string
	labels []string
	want   float64
}

func e(name string, want float64, labels ...string) expect {
	return expect{name: name, labels: labels, want: want}
}

// mismatches lists the expectations s does not meet.
func (s scrape) mismatches(exps []expect) []string {
	var out []string
	for _, x := range exps {
		got, ok := s.value(x.name, x.labels...)
		if !ok {
			out = append(out, fmt.Sprintf("%s{%s} missing, want %v", x.name, strings.Join(x.labels, ","), x.want))
			continue
		}
		if got != x.want {
			out = append(out, fmt.Sprintf("%s{%s} = %v, want %v", x.name, strings.Join(x.labels, ","), got, x.want))
		}
	}
	return out
}

// check fails on every expectation s does not meet.
func check(t *testing.T, s scrape, exps ...expect) {
	t.Helper()
	if bad := s.mismatches(exps); len(bad) > 0 {
		t.Fatalf("unexpected metrics:\n  %s", strings.Join(bad, "\n  "))
	}
}
