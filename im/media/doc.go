// Package media is imqtt's blob store for media and file messages: the broker
// never carries file bytes over MQTT. A client asks for an upload (rpc upload,
// im/media.go), PUTs the file to the short-lived signed URL it gets back, then
// sends a message of type image, file, audio or video whose body names the
// read URL; the server checks that URL with Store.Check before it stores the
// message.
//
// # Backends
//
//   - Embedded (the default, embedded.go): files under <data_dir>/media, one
//     directory per user, served by the broker's HTTP listener under /media/
//     with HMAC-signed expiring URLs (sign.go). Per node: a cluster must use S3.
//   - S3 (s3.go): any S3-compatible object store through minio-go presigned
//     PUT and GET URLs.
//
// # Keys
//
// Object keys are made by the server, never by the client (key.go):
// "{owner}/{id}", owner the lowercase hex of the user name and id 24 random
// hex digits followed by 24 hex digits of an HMAC over owner, random part,
// size, sha256 and mime type. Check recomputes that MAC, so a message can only
// name an object this server issued, with the size, type and digest declared at
// upload. Keys are parsed strictly (hex only): no path built from a key can
// leave the store's directory.
//
// # Call order
//
//	st, err := media.OpenEmbedded(cfg, dir, base, log) // or media.OpenS3(ctx, cfg, secret, log)
//	g, err := st.Upload(ctx, user, file)                // rpc upload
//	err = st.Check(url, file)                           // a media message
//	e.Put / e.Open                                      // the HTTP handler (embedded only)
//	st.Close()                                          // idempotent
//
// All methods are safe for concurrent use. The package starts no goroutine.
package media
