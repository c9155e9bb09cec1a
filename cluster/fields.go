package cluster

// Log field names used by this package. Messages are fixed lowercase strings;
// variable parts go into these fields.
const (
	componentName = "cluster"

	fieldComponent  = "component"
	fieldNodeID     = "node_id"
	fieldLeaderID   = "leader_id"
	fieldLeaderAddr = "leader_addr"
	fieldAddr       = "addr"
	fieldTerm       = "term"
	fieldIndex      = "index"
	fieldApplied    = "applied_index"
	fieldSnapshot   = "snapshot_index"
	fieldLogStore   = "log_store"
	fieldDir        = "dir"
	fieldSubsystem  = "subsystem"
	fieldLogger     = "logger"
	fieldReason     = "reason"
	fieldPeerID     = "peer_id"
	fieldPath       = "path"
	fieldSource     = "source"
	fieldRemote     = "remote"
	fieldSide       = "side"
	fieldSuppressed = "suppressed"
)
