package sockowner

import "testing"

func TestWords(t *testing.T) {
	for _, tc := range []struct {
		o    Owner
		want string
	}{
		{Owner{Status: StatusFound, PID: 4242, Comm: "java", Unit: "app.service", User: "app"}, "pid 4242 (java, unit app.service)"},
		{Owner{Status: StatusFound, PID: 7, Comm: "curl", Container: "0123456789abcdef0123", Unit: "x.scope"}, "pid 7 (curl, container 0123456789ab)"},
		{Owner{Status: StatusFound, PID: 7, Comm: "a\x1b[2Jb", User: "root"}, `pid 7 ("a\x1b[2Jb", user root)`},
		{Owner{Status: StatusHidden, UID: 1000}, "user 1000 (not visible)"},
		{Owner{Status: StatusClosed}, "closed before lookup"},
		{Owner{}, ""},
	} {
		if got := tc.o.Words(); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.o, got, tc.want)
		}
	}
}

func TestBy(t *testing.T) {
	for _, tc := range []struct {
		o    Owner
		want string
	}{
		{Owner{Status: StatusFound, PID: 4242, Comm: "java", Unit: "app.service"}, "by pid 4242 (java, unit app.service)"},
		{Owner{Status: StatusHidden, User: "app", UID: 1000}, "by a process of user app (not visible)"},
		{Owner{Status: StatusClosed}, "by a process that closed it before lookup"},
		{Owner{Status: StatusNoSocket}, "with no socket on this host (forwarded, or another network namespace's)"},
		{Owner{Status: StatusNotLookedUp}, "(its process was not looked up)"},
		{Owner{}, ""},
	} {
		if got := tc.o.By(); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.o, got, tc.want)
		}
	}
}
