package report

import (
	"fmt"

	"github.com/vpce-verify/vpce-verify/resolve"
)

// Judged is what the report made of one connection, for Config.OnConn.
// It is valid only during the call.
type Judged struct {
	// S3 says the verdict is about the connection; Established that it
	// carried traffic.
	S3, Established bool
	// Leak says it is an established S3 connection on a path the policy
	// does not allow: one that makes the verdict fail.
	Leak bool
	// Path is where it went (resolve.Path words).
	Path string
	// Unread says, for an established connection that is not S3, what of
	// its first bytes was cut before any name ("ClientHello cut"): such a
	// connection keeps a pass from being one. "" otherwise.
	Unread string
	c      *conn
	b      *Builder
}

// Verdict is the connection's own verdict, in the report's words: FAIL
// (a leak), PASS (an established S3 connection on an allowed path),
// INCONCLUSIVE (established, on a path that proves neither), or the
// connection state of an S3 attempt that was not established; "" for a
// connection that is not S3.
func (j *Judged) Verdict() string {
	switch {
	case !j.S3:
		return ""
	case j.Leak:
		return "FAIL"
	case !j.Established:
		return "NOT ESTABLISHED (" + j.c.state + ")"
	case allowed(j.b.cfg.Policy, j.c.path):
		return "PASS"
	}
	return "INCONCLUSIVE"
}

// Comment says in one line what the connection is and what it means,
// for a packet comment that Wireshark shows as frame.comment:
// "public-aws AMAZON+S3 ap-south-1 52.219.64.0/22: FAIL; 10.0.1.25:51006
// -> 52.219.64.10:443, s3.dualstack.ap-south-1.amazonaws.com (sni)".
func (j *Judged) Comment() string {
	c := j.c
	if !j.S3 && c.unread != readWhole {
		return fmt.Sprintf("%s (%s), not S3 by its address: %s before any name, so whether it carried S3 is unknown: INCONCLUSIVE; %s -> %s",
			c.path, c.basis, j.Unread, c.client, c.server)
	}
	where := string(c.path)
	switch {
	case c.class.InAWS:
		where += " " + awsWords(aws(c.class))
	case c.class.Endpoint != "":
		where += " " + c.class.Endpoint + " (" + c.basis + ")"
	default:
		where += " (" + c.basis + ")"
	}
	if c.path == resolve.PathGatewayEndpoint && c.class.Route != "" {
		where += " via " + c.class.Route
	}
	name := "no name captured"
	if n := c.seen(); len(n) > 0 {
		name = clean(n[0].text)
		if w := n[0].from.words(); len(w) > 0 {
			name += " (" + w[0] + ")"
		}
	}
	return fmt.Sprintf("%s: %s; %s -> %s, %s", where, j.Verdict(), c.client, c.server, name)
}
