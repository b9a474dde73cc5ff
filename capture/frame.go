package capture

import (
	"errors"
	"fmt"
	"time"

	"github.com/gopacket/gopacket/layers"
)

// Frame is one link-layer frame as read from a file or a socket.
type Frame struct {
	// TS is when the frame was captured.
	TS time.Time
	// Data holds the captured bytes. It is only valid until the source's
	// next read: keep a copy of anything that must outlive it.
	Data []byte
	// WireLen is the frame's length on the wire; it is larger than len(Data)
	// when the frame was cut by the snap length.
	WireLen int
	// LinkType says how Data begins (Ethernet, LINUX_SLL2, raw IP, ...).
	LinkType layers.LinkType
	// Interface indexes the source's list of interfaces (Source.Interfaces):
	// a file's distinct interfaces (the pcap file's one, or those the pcapng
	// interface description blocks describe, each listed once), the merged
	// list of several files, or the live interfaces.
	Interface int
}

// Interface describes one capture interface of a source: the single
// interface of a pcap file, one pcapng interface description block, or one
// live network interface.
type Interface struct {
	Name     string
	LinkType layers.LinkType
	SnapLen  int
	// Input indexes the source's inputs (Source.Inputs): the file the
	// interface belongs to; 0 for a live capture.
	Input int
}

// Tunnel ports decapsulated by default: VPC Traffic Mirroring delivers VXLAN,
// Gateway Load Balancer delivers Geneve.
const (
	VXLANPort  = 4789
	GenevePort = 6081
	// VXLANLinuxPort is the port Linux used for VXLAN before IANA assigned
	// 4789, and still its default (flannel's vxlan backend): files are
	// decapsulated on it too.
	VXLANLinuxPort = 8472
)

// ErrLinkType is returned for frames whose link type the decoder does not
// support. Callers must not skip such input silently.
var ErrLinkType = errors.New("unsupported link type")

// LinkTypeName names a link type the way capinfos and tshark do.
func LinkTypeName(lt layers.LinkType) string {
	switch lt {
	case layers.LinkTypeNull:
		return "NULL"
	case layers.LinkTypeEthernet:
		return "EN10MB"
	case layers.LinkTypeRaw, 12, 14:
		return "RAW"
	case layers.LinkTypeLoop:
		return "LOOP"
	case layers.LinkTypeLinuxSLL:
		return "LINUX_SLL"
	case layers.LinkTypeIPv4:
		return "IPV4"
	case layers.LinkTypeIPv6:
		return "IPV6"
	case layers.LinkTypeLinuxSLL2:
		return "LINUX_SLL2"
	}
	return fmt.Sprintf("LINKTYPE_%d", uint16(lt))
}

// SupportedLinkType reports whether frames of this link type can be
// decoded: the link types the analysis (capture/flow) reads.
func SupportedLinkType(lt layers.LinkType) bool {
	switch lt {
	case layers.LinkTypeNull, layers.LinkTypeLoop, layers.LinkTypeEthernet, layers.LinkTypeRaw, 12, 14,
		layers.LinkTypeIPv4, layers.LinkTypeIPv6, layers.LinkTypeLinuxSLL, layers.LinkTypeLinuxSLL2:
		return true
	}
	return false
}

// SupportedLinkTypes names the supported link types, for errors.
const SupportedLinkTypes = "NULL, EN10MB, RAW, LOOP, LINUX_SLL, LINUX_SLL2, IPV4, IPV6"
