package session

import (
	"errors"
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	if err := DefaultLimits().Validate(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		err  error
		want string
	}{
		{Config{OwnerMismatch: "steal"}.Validate(), "session.owner_mismatch"},
		{Config{OwnerMismatch: MismatchCleanStart, MaxPerUser: -1}.Validate(), "session.max_per_user"},
		{Limits{MaxSubscriptionsPerClient: -1}.Validate(), "limits.max_subscriptions_per_client"},
	} {
		if !errors.Is(c.err, ErrInvalidConfig) || !strings.Contains(c.err.Error(), c.want) {
			t.Errorf("%v: want ErrInvalidConfig naming %s", c.err, c.want)
		}
	}
}
