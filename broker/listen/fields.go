package listen

// Log field names and the component value used by this package.
const (
	componentName = "listen"

	fieldComponent  = "component"
	fieldListener   = "listener"
	fieldKind       = "kind"
	fieldAddress    = "address"
	fieldRemote     = "remote"
	fieldReason     = "reason"
	fieldBackoff    = "backoff"
	fieldSuppressed = "suppressed"
	fieldPanic      = "panic"
	fieldStack      = "stack"
	fieldFile       = "file"
	fieldNotAfter   = "not_after"
	fieldSerial     = "serial"
	fieldLimit      = "limit"
	fieldProxy      = "proxy"
	fieldVersion    = "version"
	fieldLocal      = "local"
)
