package transport

// Log field names and the component value of this package.
const (
	componentName = "transport"

	fieldComponent = "component"
	fieldListener  = "listener"
	fieldKind      = "kind"
	fieldAddress   = "address"
	fieldRemote    = "remote"
	fieldBackoff   = "backoff"
	fieldPanic     = "panic"
	fieldStack     = "stack"
)
