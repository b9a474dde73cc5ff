package main

import (
	"fmt"
	"time"

	"github.com/spf13/pflag"

	"github.com/vpce-verify/vpce-verify/resolve"
)

// hostFiles are where the host says how names are resolved. Tests give
// their own, so that no query leaves loopback and no answer comes from the
// machine's files.
type hostFiles struct {
	resolvConf        string
	systemdResolvConf string // systemd-resolved's upstream servers
	hosts             string
	nsswitch          string
}

// systemFiles are the host's own.
func systemFiles() hostFiles {
	return hostFiles{
		resolvConf:        "/etc/resolv.conf",
		systemdResolvConf: "/run/systemd/resolve/resolv.conf",
		hosts:             "/etc/hosts",
		nsswitch:          "/etc/nsswitch.conf",
	}
}

// resolverFlags say which DNS servers to ask and how: resolve and verify.
type resolverFlags struct {
	resolvers  []string
	vpc        bool
	timeout    time.Duration
	tries      int
	resolvConf string
	sys        hostFiles
}

func (r *resolverFlags) register(fs *pflag.FlagSet, sys hostFiles) {
	r.sys = sys
	fs.StringArrayVar(&r.resolvers, "resolver", nil, "a DNS server HOST[:PORT] to ask instead of those of resolv.conf (repeatable, asked in order)")
	fs.BoolVar(&r.vpc, "vpc-resolver", false, "ask the VPC resolver (169.254.169.253, then fd00:ec2::253), after any --resolver")
	fs.DurationVar(&r.timeout, "dns-timeout", 2*time.Second, "how long to wait for each DNS reply")
	fs.IntVar(&r.tries, "tries", 2, "how many times a query is sent to one resolver before the next is asked")
	fs.StringVar(&r.resolvConf, "resolv-conf", sys.resolvConf, "where the host's resolvers are listed")
}

// servers returns the servers to ask, and warnings about how they were
// found.
func (r *resolverFlags) servers() ([]resolve.Server, []string, error) {
	var servers []resolve.Server
	for _, s := range r.resolvers {
		ap, err := resolve.ParseServer(s)
		if err != nil {
			return nil, nil, fmt.Errorf("--resolver %v", err)
		}
		servers = append(servers, resolve.Server{Addr: ap, Source: "--resolver"})
	}
	if r.vpc {
		for _, ap := range resolve.VPCResolvers {
			servers = append(servers, resolve.Server{Addr: ap, Source: "--vpc-resolver"})
		}
	}
	if len(servers) > 0 {
		return servers, nil, nil
	}
	return resolve.SystemServers(r.resolvConf, r.sys.systemdResolvConf)
}

// named reports whether the flags name the DNS servers to ask
// (--resolver, --vpc-resolver); otherwise verify resolves as the host's
// applications do.
func (r *resolverFlags) named() bool { return len(r.resolvers) > 0 || r.vpc }

// hostResolver resolves as the host's applications do: nsswitch.conf's
// hosts order, the hosts file, the servers of --resolv-conf. A resolv.conf
// that names no server is not an error here: the hosts file may answer.
func (r *resolverFlags) hostResolver() (*resolve.HostResolver, []string, error) {
	order, err := resolve.ReadHostsOrder(r.sys.nsswitch)
	if err != nil {
		return nil, nil, fmt.Errorf("nsswitch.conf: %w", err)
	}
	hr := &resolve.HostResolver{Client: r.client(), Order: order, HostsFile: r.sys.hosts}
	var warn []string
	hr.Servers, warn, hr.ServersErr = resolve.SystemServers(r.resolvConf, r.sys.systemdResolvConf)
	return hr, warn, nil
}

// check says whether the timeout (given by the flag named timeoutFlag) and
// the tries make sense.
func (r *resolverFlags) check(timeoutFlag string) error {
	if r.timeout <= 0 || r.tries < 1 {
		return fmt.Errorf("%s and --tries must be positive", timeoutFlag)
	}
	return nil
}

func (r *resolverFlags) client() *resolve.Client {
	return &resolve.Client{Timeout: r.timeout, Tries: r.tries}
}
