package capture

import (
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
	// Interface indexes the source's list of interfaces: a file's distinct
	// interfaces (FileReader.Interfaces: the pcap file's one, or those the
	// pcapng interface description blocks describe, each listed once),
	// or the live interfaces.
	Interface int
}

// Interface describes one capture interface of a source: the single
// interface of a pcap file, one pcapng interface description block, or one
// live network interface.
type Interface struct {
	Name     string
	LinkType layers.LinkType
	SnapLen  int
}
