//go:build tools

// Package s3server pins the S3-compatible server the tests start.
package s3server

import _ "github.com/seaweedfs/seaweedfs/weed"
