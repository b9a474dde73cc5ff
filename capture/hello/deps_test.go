package hello

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/vpce-verify/vpce-verify/internal/testenv"
)

// A program that only reads hellos must not link packet decoding or
// AF_PACKET sockets: that is why this package stands apart from capture.
func TestDependsOnNoCaptureCode(t *testing.T) {
	goTool := testenv.Tool(t, "go")
	out, err := exec.Command(goTool, "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		switch {
		case dep == "github.com/vpce-verify/vpce-verify/capture",
			strings.HasPrefix(dep, "github.com/gopacket/"),
			strings.HasPrefix(dep, "golang.org/x/sys/"),
			strings.HasPrefix(dep, "github.com/miekg/"):
			t.Errorf("package hello depends on %s", dep)
		}
	}
}
